import { randomBytes } from 'node:crypto';
import type { Ledger, ReserveInput, ReserveOutcome, Settlement } from './ledger.ts';
import { bigintOf, numberOf, type Row, type SqlDriver, type SqlExecutor } from './sql-driver.ts';
import { accountById } from './sql-rows.ts';

/** Ends a transaction with an outcome rather than an error: everything it wrote is rolled back. */
class Rollback {
  readonly outcome: ReserveOutcome;
  constructor(outcome: ReserveOutcome) {
    this.outcome = outcome;
  }
}

type ChargeOperations = Pick<
  Ledger,
  'reserve' | 'commit' | 'release' | 'releaseAbandoned' | 'pendingReservations' | 'forgetStoredResponses'
>;

/** Reservations and charges: the part of the ledger every paid request goes through, twice. */
export function sqlCharges(driver: SqlDriver): ChargeOperations {
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
  };
}
