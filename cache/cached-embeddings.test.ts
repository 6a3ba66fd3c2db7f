import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { EmbeddingTarget } from './cached-embeddings.ts';
import { createGatewayCache } from './gateway-cache.ts';

const settings = {
  enabled: true,
  maxBytes: 1 << 20,
  ttlMs: 60_000,
  redisTimeoutMs: 100,
  lockMs: 1000,
  prefix: 'unused:',
  batchWindowMs: 5,
  batchMaxInputs: 256,
};

/** A vector that says which text it belongs to. */
const vectorOf = (text: string) => [text.length, text.charCodeAt(text.length - 1)];

function fakeSubnet(maxInputs: number) {
  const calls: string[][] = [];
  const target: EmbeddingTarget = {
    group: 'sn7/embed',
    maxInputs,
    ttlMs: 60_000,
    storable: () => true,
    send: async (inputs) => {
      calls.push(inputs);
      await new Promise((resolve) => setTimeout(resolve, 2));
      return {
        vectors: inputs.map(vectorOf),
        source: { servedBy: 'sn7/embed', miner: { netuid: 7, uid: 1 }, attempts: 1 },
      };
    },
  };
  return { target, calls };
}

const policy = { use: true, read: true } as const;
const signal = () => new AbortController().signal;

describe('embeddings through the cache and the micro-batcher', () => {
  it('sends 50 concurrent callers upstream in a few calls and gives each its own vectors', async () => {
    const embeddings = createGatewayCache({
      settings,
      redisUrl: undefined,
      logger: pino({ level: 'silent' }),
    });
    const { target, calls } = fakeSubnet(16);
    const texts = Array.from({ length: 50 }, (_, i) => [`caller ${i} a`, `caller ${i} bb`]);
    const results = await Promise.all(
      texts.map((inputs) => embeddings.embed(policy, target, inputs, signal())),
    );
    for (const [i, result] of results.entries())
      expect(result.batch.vectors).toEqual(texts[i]!.map(vectorOf));
    expect(calls.length).toBe(Math.ceil(100 / 16));
    expect(calls.every((call) => call.length <= 16)).toBe(true);
  });

  it('embeds a text many callers share once, and answers it from the cache afterwards', async () => {
    const embeddings = createGatewayCache({
      settings,
      redisUrl: undefined,
      logger: pino({ level: 'silent' }),
    });
    const { target, calls } = fakeSubnet(16);
    const first = await Promise.all(
      Array.from({ length: 20 }, () => embeddings.embed(policy, target, ['same text'], signal())),
    );
    expect(calls).toEqual([['same text']]);
    expect(first.some((r) => r.coalesced)).toBe(true);
    const again = await embeddings.embed(policy, target, ['same text', 'new text'], signal());
    expect(again.cache).toBe('miss');
    expect(calls.at(-1)).toEqual(['new text']);
    expect((await embeddings.embed(policy, target, ['new text', 'same text'], signal())).cache).toBe('hit');
  });

  it('still batches requests that bypass the cache', async () => {
    const embeddings = createGatewayCache({
      settings,
      redisUrl: undefined,
      logger: pino({ level: 'silent' }),
    });
    const { target, calls } = fakeSubnet(64);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => embeddings.embed({ use: false }, target, [`t${i}`], signal())),
    );
    expect(results.every((r) => r.cache === 'bypass')).toBe(true);
    expect(calls.length).toBe(1);
  });
});
