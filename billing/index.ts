/** The billing folder's public face: prices, API keys, and the ledger with its two stores. */
export { generateApiKey, parseApiKey, secretMatches } from './api-keys.ts';
export type {
  Account,
  ApiKeyRecord,
  Deposit,
  DepositOutcome,
  Ledger,
  ReserveOutcome,
  Settlement,
  StoredResponse,
  UsageRow,
} from './ledger.ts';
export { type LedgerLocation, openLedger } from './open-ledger.ts';
export { costOf, type MeteredUsage } from './price.ts';
