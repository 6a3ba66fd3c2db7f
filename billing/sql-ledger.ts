import { randomBytes } from 'node:crypto';
import type {
  Account,
  AccountAudit,
  ApiKeyRecord,
  Deposit,
  DepositOutcome,
  Ledger,
  ReserveInput,
  ReserveOutcome,
  Settlement,
  UsageRow,
} from './ledger.ts';
import { migrate } from './migrations.ts';
import { bigintOf, numberOf, type Row, type SqlDriver, type SqlExecutor } from './sql-driver.ts';

const ACCOUNT_COLUMNS = 'id, coldkey, name, created_at, balance, reserved';
const KEY_COLUMNS = 'id, account_id, name, hash, created_at, revoked_at, spend_cap, spent, rate_per_minute';

/** Ends a transaction with an outcome rather than an error: everything it wrote is rolled back. */
class Rollback {
  readonly outcome: ReserveOutcome;
  constructor(outcome: ReserveOutcome) {
    this.outcome = outcome;
  }
}

/** The ledger on any SqlDriver; migrations run before it is handed out. */
export async function openSqlLedger(driver: SqlDriver): Promise<Ledger> {
  await migrate(driver);

  const accountById = async (db: SqlExecutor, id: string) =>
    (await db.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id])).map(toAccount)[0];

  // Gives a settled reservation's hold back and books its cost. Called after the charge row left `pending`
  // (its state guard makes commit, release and the abandoned-reservation sweep safe to race). Rows are locked
  // in one order everywhere, charge → account → key, so PostgreSQL transactions queue instead of deadlocking;
  // a key is locked only when it has a spend cap.
  const settleHold = async (db: SqlExecutor, row: Row, costRao: bigint) => {
    const held = bigintOf(row.reserved);
    await db.query('UPDATE accounts SET balance = balance - $2, reserved = reserved - $3 WHERE id = $1', [
      String(row.account_id),
      costRao,
      held,
    ]);
    if (numberOf(row.capped) === 1) {
      await db.query('UPDATE api_keys SET spent = spent + $2, reserved = reserved - $3 WHERE id = $1', [
        String(row.key_id),
        costRao,
        held,
      ]);
    }
  };

  const release = (chargeId: string) =>
    driver.transaction(async (tx) => {
      const [row] = await tx.query(
        "DELETE FROM charges WHERE id = $1 AND state = 'pending' RETURNING account_id, key_id, reserved, capped",
        [chargeId],
      );
      if (!row) return false;
      await settleHold(tx, row, 0n);
      return true;
    });

  const reserveIn = async (tx: SqlExecutor, input: ReserveInput): Promise<ReserveOutcome> => {
    const { accountId, keyId, amountRao, idempotency } = input;
    if (idempotency) {
      const [previous] = await tx.query(
        `SELECT state, request_hash, cost, response_status, response_type, response_body
         FROM charges WHERE account_id = $1 AND idempotency_key = $2`,
        [accountId, idempotency.key],
      );
      if (previous) {
        if (previous.request_hash !== idempotency.requestHash) return { kind: 'idempotent-mismatch' };
        if (previous.state === 'pending') return { kind: 'idempotent-in-progress' };
        const body = previous.response_body;
        return {
          kind: 'idempotent-replay',
          response:
            body instanceof Uint8Array
              ? {
                  status: numberOf(previous.response_status),
                  contentType: String(previous.response_type),
                  body,
                  costRao: bigintOf(previous.cost),
                }
              : null,
        };
      }
    }
    let capped = false;
    if (keyId !== null) {
      const [key] = await tx.query('SELECT revoked_at, spend_cap FROM api_keys WHERE id = $1', [keyId]);
      if (!key || key.revoked_at !== null) return { kind: 'key-revoked' };
      capped = key.spend_cap !== null;
    }
    // The charge row first and the contended rows last, so their locks are held for as short a time as can be.
    const chargeId = `ch_${randomBytes(12).toString('hex')}`;
    await tx.query(
      `INSERT INTO charges (id, account_id, key_id, state, owner, reserved, capped, created_at, idempotency_key,
         request_hash)
       VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9)`,
      [
        chargeId,
        accountId,
        keyId,
        input.owner,
        amountRao,
        capped ? 1 : 0,
        input.nowMs,
        idempotency?.key ?? null,
        idempotency?.requestHash ?? null,
      ],
    );
    const held = await tx.query(
      'UPDATE accounts SET reserved = reserved + $2 WHERE id = $1 AND balance - reserved >= $2 RETURNING id',
      [accountId, amountRao],
    );
    if (held.length === 0) {
      const account = await accountById(tx, accountId);
      throw new Rollback({ kind: 'insufficient-balance', availableRao: account?.availableRao ?? 0n });
    }
    if (capped) {
      const keyHeld = await tx.query(
        `UPDATE api_keys SET reserved = reserved + $2
         WHERE id = $1 AND spent + reserved + $2 <= spend_cap RETURNING id`,
        [keyId, amountRao],
      );
      if (keyHeld.length === 0) {
        const [key] = await tx.query('SELECT spend_cap, spent FROM api_keys WHERE id = $1', [keyId]);
        throw new Rollback({
          kind: 'spend-cap-reached',
          capRao: bigintOf(key?.spend_cap),
          spentRao: bigintOf(key?.spent),
        });
      }
    }
    return { kind: 'reserved', chargeId };
  };

  return {
    kind: driver.dialect,

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
      return (await driver.query(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id])).map(toKey)[0];
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

    async reserve(input) {
      if (input.amountRao < 0n) throw new RangeError('a reservation cannot be negative');
      try {
        return await driver.transaction((tx) => reserveIn(tx, input));
      } catch (error) {
        if (error instanceof Rollback) return error.outcome;
        // Two requests with one Idempotency-Key raced past the lookup: the later insert lost.
        if (input.idempotency && driver.isUniqueViolation(error)) return { kind: 'idempotent-in-progress' };
        throw error;
      }
    },

    commit: (chargeId, settlement: Settlement) =>
      driver.transaction(async (tx) => {
        const response = settlement.response;
        const [row] = await tx.query(
          `UPDATE charges SET state = 'committed', cost = CASE WHEN $2 < reserved THEN $2 ELSE reserved END,
             settled_at = $3, day = $4, netuid = $5, model = $6, input_tokens = $7, output_tokens = $8,
             images = $9, response_status = $10, response_type = $11, response_body = $12
           WHERE id = $1 AND state = 'pending' RETURNING account_id, key_id, reserved, capped, cost`,
          [
            chargeId,
            settlement.costRao < 0n ? 0n : settlement.costRao,
            settlement.nowMs,
            new Date(settlement.nowMs).toISOString().slice(0, 10),
            settlement.netuid,
            settlement.model,
            settlement.inputTokens,
            settlement.outputTokens,
            settlement.images,
            response?.status ?? null,
            response?.contentType ?? null,
            response?.body ?? null,
          ],
        );
        if (!row) return false;
        await settleHold(tx, row, bigintOf(row.cost));
        return true;
      }),

    release,

    creditDeposit: (deposit: Deposit) =>
      driver.transaction(async (tx): Promise<DepositOutcome> => {
        await tx.lock(`coldkey:${deposit.fromColdkey}`);
        const [account] = await tx.query('SELECT id FROM accounts WHERE coldkey = $1', [deposit.fromColdkey]);
        const accountId = account ? String(account.id) : null;
        const inserted = await tx.query(
          `INSERT INTO deposits (block_hash, event_index, block_number, extrinsic_index, from_coldkey, amount,
             account_id, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING block_hash`,
          [
            deposit.blockHash.toLowerCase(),
            deposit.eventIndex,
            deposit.blockNumber,
            deposit.extrinsicIndex,
            deposit.fromColdkey,
            deposit.amountRao,
            accountId,
            deposit.nowMs,
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
    async releaseAbandoned({ leaseMs, nowMs, restartedInstance }) {
      const cutoff = nowMs - leaseMs;
      const abandoned = await driver.query(
        `SELECT id FROM charges WHERE state = 'pending' AND (owner = CAST($1 AS TEXT)
           OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at >= $2))`,
        [restartedInstance ?? null, cutoff],
      );
      let released = 0;
      for (const row of abandoned) if (await release(String(row.id))) released++;
      await driver.query(
        `DELETE FROM instances WHERE heartbeat_at < $1
           AND id NOT IN (SELECT owner FROM charges WHERE state = 'pending')`,
        [cutoff],
      );
      return released;
    },
    async pendingReservations(accountId) {
      const [row] = await driver.query(
        `SELECT COUNT(*) AS pending FROM charges WHERE state = 'pending' AND (CAST($1 AS TEXT) IS NULL OR account_id = $1)`,
        [accountId ?? null],
      );
      return numberOf(row?.pending);
    },

    async forgetStoredResponses(beforeMs) {
      const rows = await driver.query(
        `UPDATE charges SET response_body = NULL
         WHERE response_body IS NOT NULL AND state = 'committed' AND settled_at < $1 RETURNING id`,
        [beforeMs],
      );
      return rows.length;
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

function toAccount(row: Row): Account {
  const balanceRao = bigintOf(row.balance);
  const reservedRao = bigintOf(row.reserved);
  return {
    id: String(row.id),
    coldkey: String(row.coldkey),
    name: row.name === null ? null : String(row.name),
    createdAt: numberOf(row.created_at),
    balanceRao,
    reservedRao,
    availableRao: balanceRao - reservedRao,
  };
}

function toKey(row: Row): ApiKeyRecord {
  return {
    id: String(row.id),
    accountId: String(row.account_id),
    name: row.name === null ? null : String(row.name),
    hash: String(row.hash),
    createdAt: numberOf(row.created_at),
    revokedAt: row.revoked_at === null ? null : numberOf(row.revoked_at),
    spendCapRao: row.spend_cap === null ? null : bigintOf(row.spend_cap),
    ratePerMinute: row.rate_per_minute === null ? null : numberOf(row.rate_per_minute),
  };
}
