import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type AnswerLookup, type CacheEvent, type CacheStatus, createAnswerCache } from './answer-cache.ts';
import { createEmbeddingsThroughCache } from './cached-embeddings.ts';
import { closeRedis, connectRedis, redisReady, waitForRedis } from './redis.ts';
import { createReplicaCoordination } from './replica-coordination.ts';
import { createTieredStore } from './tiered-store.ts';

/** The cache's settings (TAOGATE_CACHE_*). */
export interface CacheSettings {
  enabled: boolean;
  maxBytes: number;
  /** Default lifetime of an answer; a subnet profile's `cacheTtlSeconds` overrides it. */
  ttlMs: number;
  redisTimeoutMs: number;
  lockMs: number;
  prefix: string;
  batchWindowMs: number;
  batchMaxInputs: number;
}

export interface GatewayCacheOptions {
  settings: CacheSettings;
  /** Shared Redis; the cache stays in process without it. */
  redisUrl: string | undefined;
  logger: Logger;
  /** Prometheus counters per subnet (telemetry's GatewayMetrics fits). */
  metrics?: CacheMetrics;
}

export interface CacheMetrics {
  cacheLookup(netuid: number, result: CacheStatus): void;
  coalesced(netuid: number): void;
}

type Counts = Record<CacheEvent, number> & { batches: number; batchedInputs: number };

/**
 * The cache as the gateway runs it: memory (+ Redis when configured), coalescing in process and across
 * replicas, counters for the stats route, and the Redis connections' life cycle.
 */
export function createGatewayCache(options: GatewayCacheOptions) {
  const { settings, logger } = options;
  const counts: Counts = {
    hit_memory: 0,
    hit_redis: 0,
    miss: 0,
    bypass: 0,
    coalesced_local: 0,
    coalesced_replica: 0,
    stored: 0,
    redis_error: 0,
    batches: 0,
    batchedInputs: 0,
  };
  const observe = (event: CacheEvent) => {
    counts[event]++;
  };

  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  if (options.redisUrl) {
    const connection = { connectTimeoutMs: 1000, commandTimeoutMs: settings.redisTimeoutMs };
    redis = connectRedis(options.redisUrl, { ...connection, name: 'taogate-cache' });
    subscriber = connectRedis(options.redisUrl, {
      ...connection,
      name: 'taogate-cache-events',
      queueWhileDisconnected: true,
    });
    reportAvailability(redis, logger);
  }
  const onRedisError = (operation: string, error: unknown) => {
    observe('redis_error');
    logger.debug({ err: error, operation }, 'redis cache command failed; serving from memory');
  };
  const store = createTieredStore({
    maxBytes: settings.maxBytes,
    redis,
    prefix: settings.prefix,
    onRedisError,
  });
  const replicas =
    redis && subscriber
      ? createReplicaCoordination({
          redis,
          subscriber,
          prefix: settings.prefix,
          lockMs: settings.lockMs,
          onRedisError,
        })
      : undefined;
  const answers = createAnswerCache({ store, replicas, lockMs: settings.lockMs, observe });
  const embeddings = createEmbeddingsThroughCache({
    enabled: settings.enabled,
    batchWindowMs: settings.batchWindowMs,
    batchMaxInputs: settings.batchMaxInputs,
    answer: answers.answer,
    recordBatch(inputs) {
      counts.batches++;
      counts.batchedInputs += inputs;
    },
  });

  return {
    settings,
    answer: answers.answer,
    fromMemory: answers.fromMemory,
    /** An answer's lifetime: the subnet's own when its profile sets one. */
    ttlMs(profile: { cacheTtlSeconds?: number | undefined }): number {
      return profile.cacheTtlSeconds === undefined
        ? settings.ttlMs
        : Math.round(profile.cacheTtlSeconds * 1000);
    },
    /** How one request to `netuid` was served, for the per-subnet metrics. */
    recordLookup(netuid: number, status: CacheStatus, coalesced: boolean): void {
      if (status === 'bypass') observe('bypass');
      options.metrics?.cacheLookup(netuid, status);
      if (coalesced) options.metrics?.coalesced(netuid);
    },
    /** Embeddings through the cache, coalescing and the micro-batcher (cached-embeddings.ts). */
    embed: embeddings.embed,
    /** Lets start-up wait (briefly) for Redis, so the first requests already share answers. */
    async connected(): Promise<boolean> {
      if (!redis || !subscriber) return false;
      const [main, events] = await Promise.all([waitForRedis(redis), waitForRedis(subscriber)]);
      return main && events;
    },
    stats() {
      const hits = counts.hit_memory + counts.hit_redis + counts.coalesced_replica;
      const looked = hits + counts.miss;
      return {
        enabled: settings.enabled,
        memory: store.stats(),
        redis: redis ? { connected: redisReady(redis), errors: counts.redis_error } : null,
        requests: {
          hits: {
            memory: counts.hit_memory,
            redis: counts.hit_redis,
            otherReplica: counts.coalesced_replica,
          },
          misses: counts.miss,
          bypassed: counts.bypass,
          coalesced: counts.coalesced_local,
          hitRatio: looked === 0 ? 0 : hits / looked,
        },
        stored: counts.stored,
        inFlight: answers.inFlight(),
        batching: { upstreamCalls: counts.batches, inputs: counts.batchedInputs },
      };
    },
    async close(): Promise<void> {
      await Promise.all([redis && closeRedis(redis), subscriber && closeRedis(subscriber)]);
    },
  };
}

export type GatewayCache = ReturnType<typeof createGatewayCache>;
export type { AnswerLookup };

/** Logs Redis going away and coming back once each, not once per failed command. */
function reportAvailability(redis: Redis, logger: Logger): void {
  let available = false;
  redis.on('ready', () => {
    available = true;
    logger.info('redis cache connected');
  });
  redis.on('close', () => {
    if (!available) return;
    available = false;
    logger.warn('redis cache unavailable; answers are cached in this process only until it is back');
  });
}
