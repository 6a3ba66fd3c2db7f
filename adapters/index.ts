export { expectedDimensions } from './answer-checks.ts';
export { type BearerAdapterOptions, createBearerAdapter } from './bearer-adapter.ts';
export { MAX_UPSTREAM_BYTES } from './body.ts';
export { createEpistulaAdapter, type EpistulaAdapterOptions } from './epistula-adapter.ts';
export { UpstreamError, type UpstreamErrorCode } from './errors.ts';
export { imageFormatOf } from './image-data.ts';
export { type AdapterRegistry, type AdapterRegistryOptions, createAdapterRegistry } from './registry.ts';
export { createSynapseAdapter, type SynapseAdapterOptions } from './synapse-adapter.ts';
export {
  type Adapter,
  type CallOptions,
  type ChatAdapter,
  type ChatMessage,
  type ChatRequest,
  type ChatRole,
  type CompleteAdapter,
  type EmbeddingsAnswer,
  type EmbeddingsRequest,
  type GeneratedImage,
  type ImageFormat,
  type ImagesAnswer,
  type ImagesRequest,
  type MinerTarget,
  type Task,
  type TaskAnswers,
  type TaskCall,
  type TaskRequests,
  taskCallOf,
} from './types.ts';
