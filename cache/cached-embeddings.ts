import type { AnswerCache, CacheStatus } from './answer-cache.ts';
import { cacheKeyOf } from './cache-key.ts';
import type { CachePolicy } from './cache-policy.ts';
import { createMicroBatcher, type MicroBatcher } from './micro-batcher.ts';

/** Who answered an upstream embeddings call. */
export interface EmbeddingSource {
  servedBy: string;
  miner: { netuid: number; uid: number };
  attempts: number;
}

export interface EmbeddedBatch {
  /** One vector per input, in order. */
  vectors: number[][];
  /** Input tokens as the upstream counted them, when it says (never for texts batched with other callers'). */
  promptTokens?: number;
  source: EmbeddingSource;
}

/** Where a request's texts go: calls to the same group may be merged into one upstream call. */
export interface EmbeddingTarget {
  /** Requests that may share a call: the same model, asked for vectors of the same length. */
  group: string;
  /** Texts one upstream call may carry (the subnet profile's limit). */
  maxInputs: number;
  /** Lifetime of a cached vector (the subnet's TTL). */
  ttlMs: number;
  /** False when the answer came from a fallback model: shared by the callers in flight, never kept. */
  storable(source: EmbeddingSource): boolean;
  /** One upstream call for a batch of texts. */
  send(inputs: string[], signal: AbortSignal): Promise<EmbeddedBatch>;
}

export interface Embedded {
  /** The vectors, with who answered the first text (the miner header names one). */
  batch: EmbeddedBatch;
  /** `hit` when every text came from the cache. */
  cache: CacheStatus;
  coalesced: boolean;
  /** Upstream calls that carried this request's texts (shared with other callers' texts or not). */
  upstreamCalls: number;
}

export interface EmbeddingsThroughCacheDeps {
  /** Off: no cache, no coalescing, no batching across callers; only the profile's own batch size. */
  enabled: boolean;
  batchWindowMs: number;
  batchMaxInputs: number;
  answer: AnswerCache['answer'];
  recordBatch(inputs: number): void;
}

interface Item {
  input: string;
  target: EmbeddingTarget;
}

interface VectorMeta {
  vector: number[];
  source: EmbeddingSource;
}

/**
 * Embeddings through the cache, one text at a time, and through a micro-batcher: each text is answered from
 * the cache or by the call already embedding it, and the texts left over from every caller within the
 * batch window travel upstream together, split back per caller.
 */
export function createEmbeddingsThroughCache(deps: EmbeddingsThroughCacheDeps) {
  const batchers = new Map<string, MicroBatcher<Item, VectorMeta>>();

  function batcherFor(target: EmbeddingTarget): MicroBatcher<Item, VectorMeta> {
    const name = `${target.group}|${target.maxInputs}`;
    let batcher = batchers.get(name);
    if (!batcher) {
      batcher = createMicroBatcher<Item, VectorMeta>({
        windowMs: deps.batchWindowMs,
        maxWeight: Math.max(1, Math.min(target.maxInputs, deps.batchMaxInputs)),
        // Every item of a group calls the same model the same way: the first one's sender speaks for all.
        run: async (items, signal) => {
          const batch = await items[0]!.target.send(
            items.map((item) => item.input),
            signal,
          );
          return batch.vectors.map((vector) => ({ vector, source: batch.source }));
        },
        onBatch: (items) => deps.recordBatch(items),
      });
      batchers.set(name, batcher);
    }
    return batcher;
  }

  async function embed(
    policy: CachePolicy,
    target: EmbeddingTarget,
    inputs: readonly string[],
    signal: AbortSignal,
  ): Promise<Embedded> {
    if (inputs.length === 0) throw new RangeError('no text to embed');
    if (!deps.enabled) return sendAlone(target, inputs, signal);
    const batcher = batcherFor(target);
    if (!policy.use) {
      const answers = await Promise.all(inputs.map((input) => batcher.submit({ input, target }, signal)));
      const batch = { vectors: answers.map((a) => a.vector), source: answers[0]!.source };
      const upstreamCalls = new Set(answers.map((a) => a.source)).size;
      return { batch, cache: 'bypass', coalesced: false, upstreamCalls };
    }
    const served = await Promise.all(
      inputs.map((input) =>
        deps.answer<VectorMeta>(
          {
            key: cacheKeyOf('embedding', { group: target.group, input }),
            ttlMs: target.ttlMs,
            read: policy.read,
            signal,
          },
          async (flightSignal) => {
            const answer = await batcher.submit({ input, target }, flightSignal);
            return { meta: answer, text: NO_TEXT, storable: target.storable(answer.source) };
          },
        ),
      ),
    );
    const hit = served.every((s) => s.status === 'hit');
    const source = served[0]!.meta.source;
    return {
      // An answer wholly from the cache made no upstream attempt of its own.
      batch: { vectors: served.map((s) => s.meta.vector), source: hit ? { ...source, attempts: 0 } : source },
      cache: hit ? 'hit' : 'miss',
      coalesced: served.some((s) => s.coalesced),
      // The texts of one upstream call share its source object.
      upstreamCalls: new Set(served.filter((s) => s.status === 'miss').map((s) => s.meta.source)).size,
    };
  }

  return { embed };
}

/** The caller's texts alone, in calls of the profile's size sent in parallel; tokens summed when all say. */
async function sendAlone(
  target: EmbeddingTarget,
  inputs: readonly string[],
  signal: AbortSignal,
): Promise<Embedded> {
  const calls: Promise<EmbeddedBatch>[] = [];
  for (let start = 0; start < inputs.length; start += target.maxInputs) {
    calls.push(target.send(inputs.slice(start, start + target.maxInputs), signal));
  }
  const batches = await Promise.all(calls);
  const batch: EmbeddedBatch = { vectors: batches.flatMap((b) => b.vectors), source: batches[0]!.source };
  if (batches.every((b) => b.promptTokens !== undefined)) {
    batch.promptTokens = batches.reduce((sum, b) => sum + b.promptTokens!, 0);
  }
  return { batch, cache: 'bypass', coalesced: false, upstreamCalls: batches.length };
}

const NO_TEXT: AsyncIterable<string> = {
  async *[Symbol.asyncIterator]() {},
};
