import type { Context } from 'hono';
import type { Ledger, UsageRow } from '../billing/index.ts';
import { invalidRequest } from './errors.ts';

/**
 * GET /v1/usage: the caller's account (balance, reserved, available), its keys, and what it spent, per key,
 * subnet, model and UTC day. `?since=YYYY-MM-DD` and `?key=<key id>` narrow it down.
 */
export function usageHandler(ledger: Ledger, depositAddress: string | undefined) {
  return async (c: Context) => {
    const payer = c.get('payer');
    const since = c.req.query('since');
    if (since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(since)) {
      const error = invalidRequest('since must be a date like 2026-01-31', 'since', 'invalid_value');
      return c.json(error.body, error.status);
    }
    const [account, keys, rows] = await Promise.all([
      ledger.account(payer.accountId),
      ledger.listKeys(payer.accountId),
      ledger.usage({ accountId: payer.accountId, keyId: c.req.query('key'), since }),
    ]);
    if (!account) return c.json({ error: { message: 'account not found' } }, 404);
    return c.json({
      object: 'usage',
      account: {
        id: account.id,
        coldkey: account.coldkey,
        balance_rao: Number(account.balanceRao),
        reserved_rao: Number(account.reservedRao),
        available_rao: Number(account.availableRao),
      },
      deposit_address: depositAddress ?? null,
      keys: keys.map((key) => ({
        id: key.id,
        name: key.name,
        created: Math.floor(key.createdAt / 1000),
        revoked: key.revokedAt !== null,
        spend_cap_rao: key.spendCapRao === null ? null : Number(key.spendCapRao),
        spent_rao: Number(key.spentRao),
        rate_limit_per_minute: key.ratePerMinute,
      })),
      totals: totalsOf(rows),
      data: rows.map((row) => ({
        key_id: row.keyId,
        netuid: row.netuid,
        model: row.model,
        day: row.day,
        requests: row.requests,
        input_tokens: row.inputTokens,
        output_tokens: row.outputTokens,
        images: row.images,
        cost_rao: Number(row.costRao),
      })),
    });
  };
}

function totalsOf(rows: readonly UsageRow[]) {
  return {
    requests: rows.reduce((sum, row) => sum + row.requests, 0),
    input_tokens: rows.reduce((sum, row) => sum + row.inputTokens, 0),
    output_tokens: rows.reduce((sum, row) => sum + row.outputTokens, 0),
    images: rows.reduce((sum, row) => sum + row.images, 0),
    cost_rao: Number(rows.reduce((sum, row) => sum + row.costRao, 0n)),
  };
}
