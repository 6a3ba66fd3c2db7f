/** The chain folder's public face: the Subtensor metagraph reader and the axon address helpers. */
export type { Backoff } from './chain-connection.ts';
export { ChainSourceClosed, type ChainSourceOptions, createChainSource } from './chain-source.ts';
export { DEPOSIT_HELP, type DepositCommand, runDepositCommand } from './deposit-command.ts';
export { sendTransfer, type TransferReceipt, type TransferRequest } from './deposit-transfer.ts';
export {
  type DepositSink,
  type DepositWatcher,
  type DepositWatcherOptions,
  type IncomingTransfer,
  watchDeposits,
} from './deposit-watcher.ts';
export { checkDialable, type DialCheck, type DialPolicy, type UndialableReason } from './dialable.ts';
export { decodeAxonIp, encodeAxonIp, type IpFamily } from './ip.ts';
export type { AxonInfo, MetagraphSnapshot, MetagraphSource, Neuron, Subnet } from './metagraph.ts';
export { metagraphSnapshotSchema } from './snapshot-schema.ts';
