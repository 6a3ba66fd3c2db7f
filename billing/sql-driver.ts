/** The little the ledger needs from a SQL database, so one ledger runs on SQLite and on PostgreSQL. */

export type SqlValue = string | number | bigint | null | Uint8Array;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /** Runs `sql` with PostgreSQL-style `$1…` parameters; returns the rows (RETURNING included). */
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /**
   * Serialises transactions that touch `name` until this transaction ends (PostgreSQL's advisory lock;
   * SQLite already runs one writer at a time).
   */
  lock(name: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  isUniqueViolation(error: unknown): boolean;
  close(): Promise<void>;
}

/** Column values arrive as bigint (SQLite), string (PostgreSQL int8 and sums) or number. */
export function bigintOf(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' || typeof value === 'string') return BigInt(value);
  return 0n;
}

export function numberOf(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}
