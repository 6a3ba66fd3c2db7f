import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { type Ledger, openLedger } from '../billing/index.ts';
import { SETTING_NAMES } from '../config/index.ts';
import { fundedAccount } from '../test/billing.ts';

/** What the scale-out run's account is credited with: far more than the run can spend. */
export const CREDIT_RAO = 10n ** 15n;

export interface SharedStores {
  /** What is missing for a full run, in words (a down server, a setting the gateway lacks). */
  unavailable: string[];
  /** Redis answers and the gateway reads TAOGATE_REDIS_URL; keys go under `cachePrefix`. */
  redis: boolean;
  cachePrefix: string;
  /** A PostgreSQL schema of the run's own, the ledger in it, and one funded account with an API key. */
  ledger?: { ledger: Ledger; url: string; accountId: string; apiKey: string };
}

/**
 * The one Redis and one PostgreSQL the replicas share, namespaced per run (a Redis key prefix, a schema)
 * and cleaned up by the functions pushed onto `cleanups`.
 */
export async function prepareSharedStores(options: {
  redisUrl: string;
  databaseUrl: string;
  run: string;
  cleanups: (() => Promise<unknown>)[];
}): Promise<SharedStores> {
  const unavailable: string[] = [];
  const missing = ['TAOGATE_REDIS_URL', 'TAOGATE_LEDGER', 'TAOGATE_DATABASE_URL'].filter(
    (name) => !SETTING_NAMES.includes(name),
  );
  if (missing.length > 0) unavailable.push(`the gateway has no setting ${missing.join(', ')} yet`);
  const redisUp = await reachable(() => pingRedis(options.redisUrl));
  if (!redisUp) unavailable.push(`Redis at ${options.redisUrl}`);
  const postgresUp = await reachable(() => pingPostgres(options.databaseUrl));
  if (!postgresUp) unavailable.push(`PostgreSQL at ${options.databaseUrl}`);

  const cachePrefix = `taogate:scale-out:${options.run}:`;
  const redis = redisUp && !missing.includes('TAOGATE_REDIS_URL');
  if (redis) options.cleanups.push(() => deleteKeys(options.redisUrl, cachePrefix));
  if (!postgresUp || missing.length > 0) return { unavailable, redis, cachePrefix };

  const schema = `scale_out_${options.run}`;
  await sql(options.databaseUrl, `CREATE SCHEMA ${schema}`);
  options.cleanups.push(() => sql(options.databaseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  const separator = options.databaseUrl.includes('?') ? '&' : '?';
  const url = `${options.databaseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const ledger = await openLedger({ kind: 'postgres', url }, pino({ level: 'warn' }));
  options.cleanups.push(() => ledger.close());
  return {
    unavailable,
    redis,
    cachePrefix,
    ledger: { ledger, url, ...(await openAccount(ledger)) },
  };
}

/** An account with one API key and CREDIT_RAO credited by a deposit from its coldkey. */
async function openAccount(ledger: Ledger): Promise<{ accountId: string; apiKey: string }> {
  const { account, secret } = await fundedAccount(ledger, CREDIT_RAO);
  return { accountId: account.id, apiKey: secret };
}

async function reachable(probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch {
    return false;
  }
}

async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

async function pingPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  await client.connect();
  await client.end();
}

async function sql(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}
