import type { EmbeddingsRequest } from '../adapters/index.ts';
import type { EmbeddedBatch } from '../cache/index.ts';
import {
  type ChatRouter,
  type RoutableModel,
  type RouteOptions,
  routeTaskWithFallback,
} from '../router/index.ts';
import { allOrNone, batchesOf } from './split-batches.ts';

/** Sends one batch of at most the profile's `maxBatchInputs` texts upstream. */
export type EmbeddingBatchSender = (inputs: string[], signal: AbortSignal) => Promise<EmbeddedBatch>;

/**
 * One routed call per batch: selection, breakers, retries, hedging and fallback all apply to each batch.
 * `dimensions` is sent upstream only where the profile says the subnet honours it.
 */
export function embeddingBatchSender(
  router: ChatRouter,
  catalog: ReadonlyMap<string, RoutableModel>,
  model: RoutableModel,
  dimensions: number | undefined,
  deadlineMs: number,
): EmbeddingBatchSender {
  return async (inputs, signal) => {
    const request: EmbeddingsRequest = dimensions === undefined ? { inputs } : { inputs, dimensions };
    const options: RouteOptions = { signal, deadlineMs };
    const routed = await routeTaskWithFallback(router, catalog, 'embeddings', model, request, options);
    const source = {
      servedBy: routed.servedBy.id,
      miner: { netuid: routed.miner.netuid, uid: routed.miner.uid },
      attempts: routed.attempts,
    };
    const { vectors, promptTokens } = routed.answer;
    return promptTokens === undefined ? { vectors, source } : { vectors, promptTokens, source };
  };
}

/** Every input embedded, batch by batch in parallel, vectors back in input order. */
export async function embedInBatches(
  send: EmbeddingBatchSender,
  inputs: readonly string[],
  maxBatchInputs: number,
  signal: AbortSignal,
): Promise<EmbeddedBatch[]> {
  const calls = batchesOf(inputs, maxBatchInputs).map(
    (batch) => (shared: AbortSignal) => send(batch, shared),
  );
  return allOrNone(calls, signal);
}
