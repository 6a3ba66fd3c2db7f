import type { RoutableModel } from '../router/index.ts';
import type { CachePolicy } from './cache-policy.ts';
import type { Embedded, EmbeddedBatch } from './cached-embeddings.ts';
import type { GatewayCache } from './gateway-cache.ts';

export interface EmbeddingsCall {
  model: RoutableModel;
  /** The vector length asked of the subnet; undefined for its own. */
  dimensions: number | undefined;
  /** One routed upstream call for a batch of at most the profile's `maxBatchInputs` texts. */
  send(inputs: string[], signal: AbortSignal): Promise<EmbeddedBatch>;
}

/**
 * An embeddings request through the gateway's cache: its texts are looked up one by one, and those left
 * over share upstream calls with other callers' texts for the same model and length (see cached-embeddings).
 * Vectors a fallback model made are shared in flight but never kept.
 */
export async function embedThroughCache(
  cache: GatewayCache,
  policy: CachePolicy,
  call: EmbeddingsCall,
  inputs: readonly string[],
  signal: AbortSignal,
): Promise<Embedded> {
  const { model } = call;
  const embedded = await cache.embed(
    policy,
    {
      group: `${model.id}|${call.dimensions ?? 'own'}`,
      maxInputs: model.profile.embeddings?.maxBatchInputs ?? 1,
      ttlMs: cache.ttlMs(model.profile),
      storable: (source) => source.servedBy === model.id,
      send: call.send,
    },
    inputs,
    signal,
  );
  cache.recordLookup(model.profile.netuid, embedded.cache, embedded.coalesced);
  return embedded;
}
