/** The billing folder's public face: prices, API keys, the ledger with its two stores, and usage metering. */
export { ACCOUNTS_HELP, type AdminOptions, runAccountsCommand } from './admin-commands.ts';
export { generateApiKey, parseApiKey, secretMatches } from './api-keys.ts';
export { depositAddressOf, LOCALNET_DEPOSIT_SECRET } from './deposit-address.ts';
export type {
  Account,
  AccountAudit,
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
export { formatTao, parseTao } from './tao-amount.ts';
export {
  type MeteredAnswer,
  type ModelPrice,
  meteredUsage,
  meterFailure,
  UsageMeter,
  withUsageMeter,
} from './usage-meter.ts';
