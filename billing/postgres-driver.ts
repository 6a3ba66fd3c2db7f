import pg from 'pg';
import type { Logger } from 'pino';
import type { Row, SqlDriver, SqlExecutor } from './sql-driver.ts';

/** The shared store for several replicas: a pg pool; each transaction holds one pooled connection. */
export function openPostgresDriver(connectionString: string, logger: Logger): SqlDriver {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    // A burst on one account queues on its row: waiting for a connection is back-pressure, not a failure,
    // for as long as a request may take anyway.
    connectionTimeoutMillis: 30_000,
    // A ledger statement is a few row updates; anything slower is a stuck database, not a busy one.
    statement_timeout: 10_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (error) => logger.warn({ err: error }, 'postgres connection lost'));

  const lock = async (client: pg.PoolClient, name: string) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
  };

  return {
    dialect: 'postgres',
    query: async (sql, params = []) => (await pool.query(sql, params as unknown[])).rows as Row[],
    lock: async () => undefined,
    async transaction(work) {
      const client = await pool.connect();
      // The pool hears a client's errors only while it is idle: a connection the server drops during a
      // transaction emits 'error' on the checked-out client, which unheard would crash the process (the
      // query in flight rejects too). A lost client is destroyed on release rather than pooled again.
      let lost: Error | undefined;
      const onError = (error: Error) => {
        lost = error;
      };
      client.on('error', onError);
      const tx: SqlExecutor = {
        query: async (sql, params = []) => (await client.query(sql, params as unknown[])).rows as Row[],
        lock: (name) => lock(client, name),
      };
      try {
        await client.query('BEGIN');
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.off('error', onError);
        client.release(lost);
      }
    },
    isUniqueViolation: (error) => (error as { code?: unknown } | null)?.code === '23505',
    close: () => pool.end(),
  };
}
