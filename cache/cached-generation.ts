import type { ChatRequest } from '../adapters/index.ts';
import {
  type ChatRouter,
  type RoutableModel,
  type RouteOptions,
  routeWithFallback,
} from '../router/index.ts';
import type { CacheStatus, Served } from './answer-cache.ts';
import { cacheKeyOf } from './cache-key.ts';
import type { CachePolicy } from './cache-policy.ts';
import type { GatewayCache } from './gateway-cache.ts';

/** A routed text answer, wherever it came from. */
export interface CachedRouted {
  /** The miner whose answer this is (for a hit, the one that answered first). */
  miner: { netuid: number; uid: number };
  /** Upstream calls this request made itself: 0 for a hit or a shared call. */
  attempts: number;
  hedged: boolean;
  servedBy: RoutableModel;
  text: AsyncIterable<string>;
  cache: CacheStatus;
  coalesced: boolean;
}

interface AnswerMeta {
  servedBy: string;
  miner: { netuid: number; uid: number };
  attempts: number;
  hedged: boolean;
}

export interface GenerationTarget {
  router: ChatRouter;
  catalog: ReadonlyMap<string, RoutableModel>;
  model: RoutableModel;
  request: ChatRequest;
  options: RouteOptions;
  /** generationCacheKey(model, request), when the caller already holds it; else it is computed here. */
  key?: string | undefined;
}

/** What a lookup in memory needs: the request, and the catalogue that names the model that answered. */
export type CachedTarget = Pick<GenerationTarget, 'catalog' | 'model' | 'request' | 'key'>;

/**
 * A cacheable request's answer from this process's memory, if it holds one: synchronous, so a hit skips
 * everything an upstream call needs (Redis, coalescing, the caller's signal). Undefined: use routeThroughCache.
 * Found before the request's telemetry may exist (memory-front.ts decides on it ahead of Hono), so the
 * lookup is counted by the caller, with `recordLookup`, once it answers with it.
 */
export function answeredFromMemory(
  cache: GatewayCache | undefined,
  policy: CachePolicy,
  target: CachedTarget,
): CachedRouted | undefined {
  if (!cache?.settings.enabled || !policy.use || !policy.read) return undefined;
  const served = cache.fromMemory<AnswerMeta>(keyOf(target));
  return served && routedOf(served, target);
}

/**
 * routeWithFallback behind the cache: a cacheable request is answered from the cache, from an identical
 * request already in flight, or upstream (and then kept for its subnet's TTL); any other goes straight
 * upstream. Answers a fallback model gave stand in for one request only, so they are never kept.
 */
export async function routeThroughCache(
  cache: GatewayCache | undefined,
  policy: CachePolicy,
  target: GenerationTarget,
): Promise<CachedRouted> {
  const { router, catalog, model, request, options } = target;
  if (!cache?.settings.enabled || !policy.use) {
    cache?.recordLookup(model.profile.netuid, 'bypass', false);
    const routed = await routeWithFallback(router, catalog, model, request, options);
    return { ...routed, cache: 'bypass', coalesced: false };
  }
  const served = await cache.answer<AnswerMeta>(
    {
      key: keyOf(target),
      ttlMs: cache.ttlMs(model.profile),
      read: policy.read,
      signal: options.signal,
    },
    async (signal) => {
      const routed = await routeWithFallback(router, catalog, model, request, { ...options, signal });
      const { netuid, uid } = routed.miner;
      return {
        meta: {
          servedBy: routed.servedBy.id,
          miner: { netuid, uid },
          attempts: routed.attempts,
          hedged: routed.hedged,
        },
        text: routed.text,
        storable: routed.servedBy === model,
      };
    },
  );
  cache.recordLookup(model.profile.netuid, served.status, served.coalesced);
  return routedOf(served, target);
}

/** The cache key of a text-generation request to `model`. */
export function generationCacheKey(model: RoutableModel, request: ChatRequest): string {
  return cacheKeyOf('chat', { model: model.id, ...request });
}

function keyOf({ key, model, request }: CachedTarget): string {
  return key ?? generationCacheKey(model, request);
}

function routedOf(served: Served<AnswerMeta>, { catalog, model }: CachedTarget): CachedRouted {
  const { meta } = served;
  const fresh = served.status === 'miss' && !served.coalesced;
  return {
    miner: meta.miner,
    attempts: fresh ? meta.attempts : 0,
    hedged: fresh && meta.hedged,
    servedBy: catalog.get(meta.servedBy) ?? model,
    text: served.text,
    cache: served.status,
    coalesced: served.coalesced,
  };
}
