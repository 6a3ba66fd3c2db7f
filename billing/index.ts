/** The billing folder's public face: prices, API keys, the ledger with its two stores, and usage metering. */
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
export { describePrice, type Quote, quoteRequest } from './quote.ts';
export {
  currentUsageMeter,
  type MeteredAnswer,
  type ModelPrice,
  meteredUsage,
  meterFailure,
  UsageMeter,
  withUsageMeter,
} from './usage-meter.ts';
