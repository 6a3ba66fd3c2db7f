export { MAX_UPSTREAM_BYTES } from './body.ts';
export { createEpistulaAdapter, type EpistulaAdapterOptions } from './epistula-adapter.ts';
export { UpstreamError, type UpstreamErrorCode } from './errors.ts';
export { createSynapseAdapter, type SynapseAdapterOptions } from './synapse-adapter.ts';
export type { CallOptions, ChatAdapter, ChatMessage, ChatRequest, ChatRole, MinerTarget } from './types.ts';
