export { HEALTHY, type MinerBehaviour } from './behaviour.ts';
export { type ChainNode, startChainNode } from './chain/index.ts';
export type { Miner } from './miner.ts';
export { type Localnet, type LocalnetOptions, startLocalnet } from './network.ts';
