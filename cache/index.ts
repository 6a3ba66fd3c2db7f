export {
  type CacheEvent,
  type CacheStatus,
  type Produce,
  type Produced,
  type Served,
  type WholeText,
  wholeTextOf,
} from './answer-cache.ts';
export { cacheKeyOf } from './cache-key.ts';
export {
  type CachePolicy,
  cachePolicyOf,
  type PolicyResult,
  type StepCacheMode,
  stepCachePolicy,
} from './cache-policy.ts';
export type {
  Embedded,
  EmbeddedBatch,
  EmbeddingSource,
  EmbeddingTarget,
} from './cached-embeddings.ts';
export {
  answeredFromMemory,
  type CachedRouted,
  generationCacheKey,
  routeThroughCache,
} from './cached-generation.ts';
export { type EmbeddingsCall, embedThroughCache } from './embed-through-cache.ts';
export {
  type AnswerLookup,
  type CacheSettings,
  createGatewayCache,
  type GatewayCache,
} from './gateway-cache.ts';
export { createMicroBatcher, type MicroBatcher, type MicroBatcherOptions } from './micro-batcher.ts';
export {
  closeRedis,
  connectRedis,
  REDIS_DEFAULTS,
  type RedisConnectionOptions,
  redisReady,
  waitForRedis,
} from './redis.ts';
