export {
  always,
  HEALTHY,
  type MinerBehaviour,
  STAGED_FAULTS,
  type StagedFault,
  seededRandom,
} from './behaviour.ts';
export {
  type ChainNode,
  readChainUrlFile,
  removeChainUrlFile,
  startChainNode,
  writeChainUrlFile,
} from './chain/index.ts';
export { textEmbedding } from './embedding-vectors.ts';
export { type EpistulaMinerOptions, startEpistulaMiner } from './epistula-miner.ts';
export type { Miner } from './miner-server.ts';
export { type Localnet, type LocalnetOptions, startLocalnet } from './network.ts';
export { type OpenAiUpstreamOptions, startOpenAiUpstream } from './openai-upstream.ts';
export { encodePng, promptImage } from './png.ts';
