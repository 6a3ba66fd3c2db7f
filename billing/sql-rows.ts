import type { Account, ApiKeyRecord } from './ledger.ts';
import { bigintOf, numberOf, type Row, type SqlExecutor } from './sql-driver.ts';

/** Row shapes shared by the ledger's queries. */
export const ACCOUNT_COLUMNS = 'id, coldkey, name, created_at, balance, reserved';
const KEY_COLUMN_NAMES = [
  'id',
  'account_id',
  'name',
  'hash',
  'created_at',
  'revoked_at',
  'spend_cap',
  'rate_per_minute',
];
export const KEY_COLUMNS = KEY_COLUMN_NAMES.join(', ');
/** The key columns of the `api_keys` table aliased as `alias`, for joins. */
export const keyColumnsOf = (alias: string) => KEY_COLUMN_NAMES.map((name) => `${alias}.${name}`).join(', ');

export async function accountById(db: SqlExecutor, id: string): Promise<Account | undefined> {
  return (await db.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id])).map(toAccount)[0];
}

export function toAccount(row: Row): Account {
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

export function toKey(row: Row): ApiKeyRecord {
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
