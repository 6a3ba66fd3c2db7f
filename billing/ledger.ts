/** The ledger's one interface; `openLedger` gives an SQLite or a PostgreSQL implementation of it. */

export interface Account {
  id: string;
  /** The ss58 coldkey the account is bound to: transfers from it are credited here. */
  coldkey: string;
  name: string | null;
  createdAt: number;
  /** Credits minus committed charges, in rao. */
  balanceRao: bigint;
  /** Held by requests in flight. */
  reservedRao: bigint;
  /** What a new request can reserve: balance minus reserved, never below zero. */
  availableRao: bigint;
}

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  name: string | null;
  /** SHA-256 of the key's secret part. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
  /** Most this key may ever spend, in rao; null for no cap. */
  spendCapRao: bigint | null;
  /** Requests per minute; null for the gateway's default. */
  ratePerMinute: number | null;
}

export interface ReserveInput {
  accountId: string;
  keyId: string | null;
  amountRao: bigint;
  /** The gateway instance holding the reservation: its lease keeps the reservation alive. */
  owner: string;
  nowMs: number;
  idempotency?: { key: string; requestHash: string };
}

/** A stored answer, replayed to a retry with the same Idempotency-Key. */
export interface StoredResponse {
  status: number;
  contentType: string;
  body: Uint8Array;
  costRao: bigint;
}

export type ReserveOutcome =
  | { kind: 'reserved'; chargeId: string }
  | { kind: 'insufficient-balance'; availableRao: bigint }
  | { kind: 'spend-cap-reached'; capRao: bigint; spentRao: bigint }
  /** The key was revoked (or deleted) since it was read. */
  | { kind: 'key-revoked' }
  | { kind: 'idempotent-replay'; response: StoredResponse | null }
  | { kind: 'idempotent-in-progress' }
  | { kind: 'idempotent-mismatch' };

export interface Settlement {
  /** Charged up to the reservation, never more: the reservation was the most the request could cost. */
  costRao: bigint;
  netuid: number | null;
  model: string;
  inputTokens: number;
  outputTokens: number;
  images: number;
  nowMs: number;
  /** Kept for Idempotency-Key retries. */
  response?: Omit<StoredResponse, 'costRao'>;
}

export interface Deposit {
  /** Dedupe key: block hash and the event's index in that block. */
  blockHash: string;
  eventIndex: number;
  blockNumber: number;
  extrinsicIndex: number | null;
  /**
   * Second dedupe key, the same in every block the transfer is read from: its extrinsic's hash and its place
   * among that extrinsic's transfers. Null when no extrinsic made it.
   */
  transferId?: string | null;
  fromColdkey: string;
  amountRao: bigint;
  nowMs: number;
}

/** credited: added to the sender's account; unclaimed: kept until an account for that coldkey is created. */
export type DepositOutcome = 'credited' | 'unclaimed' | 'duplicate';

export interface UsageQuery {
  accountId?: string;
  keyId?: string;
  /** First day included, `YYYY-MM-DD` (UTC). */
  since?: string;
}

/** Committed charges summed per key, subnet, model and UTC day. */
export interface UsageRow {
  accountId: string;
  keyId: string | null;
  netuid: number | null;
  model: string;
  day: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  images: number;
  costRao: bigint;
}

/** One account's books: what `taogate accounts list` prints and soak tests check. */
export interface AccountAudit {
  accountId: string;
  balanceRao: bigint;
  reservedRao: bigint;
  /** Σ deposits credited to the account. */
  creditedRao: bigint;
  /** Σ committed charges. */
  spentRao: bigint;
  /** Σ and count of pending reservations. */
  heldRao: bigint;
  pending: number;
  /** credited − spent = balance, and the pending reservations add up to reserved. */
  balanced: boolean;
}

export interface Ledger {
  readonly kind: 'sqlite' | 'postgres';
  createAccount(input: { coldkey: string; name?: string | null; nowMs: number }): Promise<Account>;
  account(id: string): Promise<Account | undefined>;
  accountByColdkey(coldkey: string): Promise<Account | undefined>;
  listAccounts(): Promise<Account[]>;
  addKey(input: {
    id: string;
    accountId: string;
    hash: string;
    name?: string | null;
    spendCapRao?: bigint | null;
    ratePerMinute?: number | null;
    nowMs: number;
  }): Promise<ApiKeyRecord>;
  /** A key with its account's coldkey: all a request's authentication needs, in one read. */
  key(id: string): Promise<(ApiKeyRecord & { coldkey: string }) | undefined>;
  /** The account's keys, each with what it has spent (committed charges). */
  listKeys(accountId: string): Promise<(ApiKeyRecord & { spentRao: bigint })[]>;
  revokeKey(id: string, nowMs: number): Promise<boolean>;
  /** Holds `amountRao` of the account's balance, atomically: concurrent reservations never overspend. */
  reserve(input: ReserveInput): Promise<ReserveOutcome>;
  /** Turns a reservation into a charge; false when it is no longer pending (released, or committed). */
  commit(chargeId: string, settlement: Settlement): Promise<boolean>;
  /** Gives a reservation back; false when it is no longer pending. */
  release(chargeId: string): Promise<boolean>;
  creditDeposit(deposit: Deposit): Promise<DepositOutcome>;
  /** The last block whose transfers to `address` were credited. */
  depositCursor(address: string): Promise<number | undefined>;
  setDepositCursor(address: string, blockNumber: number): Promise<void>;
  /** Renews this instance's lease on its reservations. */
  heartbeat(instanceId: string, nowMs: number): Promise<void>;
  /**
   * Releases reservations whose instance is gone: its lease older than `leaseMs`, or `restartedInstance`
   * (this instance's own id from before a crash). Returns how many were released.
   */
  releaseAbandoned(input: { leaseMs: number; nowMs: number; restartedInstance?: string }): Promise<number>;
  pendingReservations(accountId?: string): Promise<number>;
  /** Drops the answers kept for Idempotency-Key retries settled before `beforeMs`; returns how many. */
  forgetStoredResponses(beforeMs: number): Promise<number>;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /** Every account's books, recomputed from its deposits and charges. */
  audit(): Promise<AccountAudit[]>;
  /** Resolves when the store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
