import type { SqlDriver } from './sql-driver.ts';

/**
 * The ledger's schema, one entry per version; only ever appended to. Amounts are rao in 64-bit integers;
 * times are Unix milliseconds. The CHECK on accounts is the last line of defence: whatever the code does,
 * the database refuses a reservation beyond the balance.
 */
const MIGRATIONS: readonly ((blob: string) => string[])[] = [
  (blob) => [
    `CREATE TABLE accounts (
      id TEXT PRIMARY KEY,
      coldkey TEXT NOT NULL UNIQUE,
      name TEXT,
      created_at BIGINT NOT NULL,
      balance BIGINT NOT NULL DEFAULT 0,
      reserved BIGINT NOT NULL DEFAULT 0,
      CHECK (reserved >= 0 AND balance >= reserved)
    )`,
    `CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts (id),
      name TEXT,
      hash TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      revoked_at BIGINT,
      spend_cap BIGINT,
      -- Kept for capped keys only: what counts against the cap. Uncapped keys are never locked by a request.
      spent BIGINT NOT NULL DEFAULT 0,
      reserved BIGINT NOT NULL DEFAULT 0,
      rate_per_minute INTEGER,
      CHECK (reserved >= 0)
    )`,
    `CREATE INDEX api_keys_account ON api_keys (account_id)`,
    // A reservation while pending, the charge once committed: one row per billed request.
    `CREATE TABLE charges (
      id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts (id),
      key_id TEXT REFERENCES api_keys (id),
      state TEXT NOT NULL CHECK (state IN ('pending', 'committed')),
      owner TEXT NOT NULL,
      reserved BIGINT NOT NULL CHECK (reserved >= 0),
      -- 1 when the reservation is also held against its key's spend cap.
      capped INTEGER NOT NULL DEFAULT 0,
      cost BIGINT CHECK (cost >= 0 AND cost <= reserved),
      created_at BIGINT NOT NULL,
      settled_at BIGINT,
      day TEXT,
      netuid INTEGER,
      model TEXT,
      input_tokens INTEGER,
      output_tokens INTEGER,
      images INTEGER,
      idempotency_key TEXT,
      request_hash TEXT,
      response_status INTEGER,
      response_type TEXT,
      response_body ${blob},
      UNIQUE (account_id, idempotency_key)
    )`,
    `CREATE INDEX charges_pending ON charges (owner) WHERE state = 'pending'`,
    `CREATE INDEX charges_usage ON charges (account_id, day) WHERE state = 'committed'`,
    `CREATE TABLE deposits (
      block_hash TEXT NOT NULL,
      event_index INTEGER NOT NULL,
      block_number BIGINT NOT NULL,
      extrinsic_index INTEGER,
      from_coldkey TEXT NOT NULL,
      amount BIGINT NOT NULL CHECK (amount > 0),
      account_id TEXT REFERENCES accounts (id),
      received_at BIGINT NOT NULL,
      PRIMARY KEY (block_hash, event_index)
    )`,
    `CREATE INDEX deposits_unclaimed ON deposits (from_coldkey) WHERE account_id IS NULL`,
    `CREATE TABLE deposit_cursors (address TEXT PRIMARY KEY, block_number BIGINT NOT NULL)`,
    `CREATE TABLE instances (id TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL)`,
  ],
  // A transfer re-included in another block after a re-org keeps its extrinsic: one credit for it, whichever
  // block hash it is read under.
  () => [
    `ALTER TABLE deposits ADD COLUMN transfer_id TEXT`,
    `CREATE UNIQUE INDEX deposits_transfer ON deposits (transfer_id)`,
  ],
];

/** Applies the migrations this database lacks, once, even when several replicas start together. */
export async function migrate(driver: SqlDriver): Promise<void> {
  const blob = driver.dialect === 'postgres' ? 'BYTEA' : 'BLOB';
  await driver.transaction(async (tx) => {
    await tx.lock('taogate-ledger-migrations');
    await tx.query(
      'CREATE TABLE IF NOT EXISTS taogate_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const applied = new Set(
      (await tx.query('SELECT version FROM taogate_migrations')).map((row) => Number(row.version)),
    );
    for (const [index, statements] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (applied.has(version)) continue;
      for (const statement of statements(blob)) await tx.query(statement);
      await tx.query('INSERT INTO taogate_migrations (version, applied_at) VALUES ($1, $2)', [
        version,
        Date.now(),
      ]);
    }
  });
}
