import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The shared test database; every run works in a schema of its own and drops it afterwards. */
export const TEST_DATABASE = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  /** A connection string whose sessions use the new schema. */
  url: string;
  drop(): Promise<void>;
}

export async function createTestSchema(prefix = 'taogate_test'): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  return {
    url: `${TEST_DATABASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}
