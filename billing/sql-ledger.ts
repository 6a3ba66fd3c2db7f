import { randomBytes } from 'node:crypto';
import type { AccountAudit, Deposit, DepositOutcome, Ledger, UsageRow } from './ledger.ts';
import { migrate } from './migrations.ts';
import { sqlCharges } from './sql-charges.ts';
import { bigintOf, numberOf, type SqlDriver } from './sql-driver.ts';
import { ACCOUNT_COLUMNS, accountById, KEY_COLUMNS, keyColumnsOf, toAccount, toKey } from './sql-rows.ts';

/** The ledger on any SqlDriver; migrations run before it is handed out. */
export async function openSqlLedger(driver: SqlDriver): Promise<Ledger> {
  await migrate(driver);
  const charges = sqlCharges(driver);

  return {
    kind: driver.dialect,
    ...charges,

    async createAccount({ coldkey, name = null, nowMs }) {
      const id = `acct_${randomBytes(8).toString('hex')}`;
      return driver.transaction(async (tx) => {
        await tx.lock(`coldkey:${coldkey}`);
        await tx.query('INSERT INTO accounts (id, coldkey, name, created_at) VALUES ($1, $2, $3, $4)', [
          id,
          coldkey,
          name,
          nowMs,
        ]);
        // Transfers that arrived before the account existed were kept for it.
        const claimed = await tx.query(
          'UPDATE deposits SET account_id = $1 WHERE from_coldkey = $2 AND account_id IS NULL RETURNING amount',
          [id, coldkey],
        );
        const total = claimed.reduce((sum, row) => sum + bigintOf(row.amount), 0n);
        if (total > 0n)
          await tx.query('UPDATE accounts SET balance = balance + $2 WHERE id = $1', [id, total]);
        return (await accountById(tx, id))!;
      });
    },
    account: (id) => accountById(driver, id),
    async accountByColdkey(coldkey) {
      const rows = await driver.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE coldkey = $1`, [
        coldkey,
      ]);
      return rows.map(toAccount)[0];
    },
    async listAccounts() {
      return (await driver.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id`)).map(
        toAccount,
      );
    },

    async addKey({ id, accountId, hash, name = null, spendCapRao = null, ratePerMinute = null, nowMs }) {
      const [row] = await driver.query(
        `INSERT INTO api_keys (id, account_id, name, hash, created_at, spend_cap, rate_per_minute)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${KEY_COLUMNS}`,
        [id, accountId, name, hash, nowMs, spendCapRao, ratePerMinute],
      );
      return toKey(row!);
    },
    async key(id) {
      const [row] = await driver.query(
        `SELECT ${keyColumnsOf('k')}, a.coldkey FROM api_keys k JOIN accounts a ON a.id = k.account_id
         WHERE k.id = $1`,
        [id],
      );
      return row && { ...toKey(row), coldkey: String(row.coldkey) };
    },
    async listKeys(accountId) {
      const rows = await driver.query(
        `SELECT ${KEY_COLUMNS},
           (SELECT COALESCE(SUM(c.cost), 0) FROM charges c WHERE c.key_id = k.id AND c.state = 'committed') AS spent
         FROM api_keys k WHERE account_id = $1 ORDER BY created_at, id`,
        [accountId],
      );
      return rows.map((row) => ({ ...toKey(row), spentRao: bigintOf(row.spent) }));
    },
    async revokeKey(id, nowMs) {
      const rows = await driver.query(
        'UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id',
        [id, nowMs],
      );
      return rows.length > 0;
    },

    creditDeposit: (deposit: Deposit) =>
      driver.transaction(async (tx): Promise<DepositOutcome> => {
        await tx.lock(`coldkey:${deposit.fromColdkey}`);
        const [account] = await tx.query('SELECT id FROM accounts WHERE coldkey = $1', [deposit.fromColdkey]);
        const accountId = account ? String(account.id) : null;
        const inserted = await tx.query(
          `INSERT INTO deposits (block_hash, event_index, block_number, extrinsic_index, from_coldkey, amount,
             account_id, received_at, transfer_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING block_hash`,
          [
            deposit.blockHash.toLowerCase(),
            deposit.eventIndex,
            deposit.blockNumber,
            deposit.extrinsicIndex,
            deposit.fromColdkey,
            deposit.amountRao,
            accountId,
            deposit.nowMs,
            deposit.transferId ?? null,
          ],
        );
        if (inserted.length === 0) return 'duplicate';
        if (!accountId) return 'unclaimed';
        await tx.query('UPDATE accounts SET balance = balance + $2 WHERE id = $1', [
          accountId,
          deposit.amountRao,
        ]);
        return 'credited';
      }),
    async depositCursor(address) {
      const [row] = await driver.query('SELECT block_number FROM deposit_cursors WHERE address = $1', [
        address,
      ]);
      return row ? numberOf(row.block_number) : undefined;
    },
    async setDepositCursor(address, blockNumber) {
      await driver.query(
        `INSERT INTO deposit_cursors (address, block_number) VALUES ($1, $2)
         ON CONFLICT (address) DO UPDATE SET block_number = excluded.block_number`,
        [address, blockNumber],
      );
    },

    async heartbeat(instanceId, nowMs) {
      await driver.query(
        `INSERT INTO instances (id, heartbeat_at) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
        [instanceId, nowMs],
      );
    },
    async usage({ accountId, keyId, since }) {
      const rows = await driver.query(
        `SELECT account_id, key_id, netuid, model, day, COUNT(*) AS requests,
           SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(images) AS images,
           SUM(cost) AS cost
         FROM charges
         WHERE state = 'committed' AND (CAST($1 AS TEXT) IS NULL OR account_id = $1) AND (CAST($2 AS TEXT) IS NULL OR key_id = $2)
           AND (CAST($3 AS TEXT) IS NULL OR day >= $3)
         GROUP BY account_id, key_id, netuid, model, day
         ORDER BY day, account_id, key_id, netuid, model`,
        [accountId ?? null, keyId ?? null, since ?? null],
      );
      return rows.map(
        (row): UsageRow => ({
          accountId: String(row.account_id),
          keyId: row.key_id === null ? null : String(row.key_id),
          netuid: row.netuid === null ? null : numberOf(row.netuid),
          model: String(row.model),
          day: String(row.day),
          requests: numberOf(row.requests),
          inputTokens: numberOf(row.input_tokens),
          outputTokens: numberOf(row.output_tokens),
          images: numberOf(row.images),
          costRao: bigintOf(row.cost),
        }),
      );
    },

    async audit() {
      const rows = await driver.query(
        `SELECT a.id, a.balance, a.reserved,
           (SELECT COALESCE(SUM(d.amount), 0) FROM deposits d WHERE d.account_id = a.id) AS credited,
           (SELECT COALESCE(SUM(c.cost), 0) FROM charges c WHERE c.account_id = a.id AND c.state = 'committed') AS spent,
           (SELECT COALESCE(SUM(c.reserved), 0) FROM charges c WHERE c.account_id = a.id AND c.state = 'pending') AS held,
           (SELECT COUNT(*) FROM charges c WHERE c.account_id = a.id AND c.state = 'pending') AS pending
         FROM accounts a ORDER BY a.created_at, a.id`,
      );
      return rows.map((row): AccountAudit => {
        const audit = {
          accountId: String(row.id),
          balanceRao: bigintOf(row.balance),
          reservedRao: bigintOf(row.reserved),
          creditedRao: bigintOf(row.credited),
          spentRao: bigintOf(row.spent),
          heldRao: bigintOf(row.held),
          pending: numberOf(row.pending),
        };
        return {
          ...audit,
          balanced:
            audit.creditedRao - audit.spentRao === audit.balanceRao && audit.heldRao === audit.reservedRao,
        };
      });
    },
    async ping() {
      await driver.query('SELECT 1');
    },
    close: () => driver.close(),
  };
}
