import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Produce } from './answer-cache.ts';
import { createGatewayCache } from './gateway-cache.ts';

const settings = {
  enabled: true,
  maxBytes: 1 << 20,
  ttlMs: 300_000,
  redisTimeoutMs: 100,
  lockMs: 1000,
  prefix: 'unused:',
  batchWindowMs: 5,
  batchMaxInputs: 256,
};
const memoryOnly = () =>
  createGatewayCache({ settings, redisUrl: undefined, logger: pino({ level: 'silent' }) });

const answering: Produce<null> = async () => ({
  meta: null,
  text: (async function* () {
    yield 'an answer';
  })(),
  storable: true,
});

async function statusOf(cache: ReturnType<typeof memoryOnly>, key: string, ttlMs: number) {
  const served = await cache.answer(
    { key, ttlMs, read: true, signal: new AbortController().signal },
    answering,
  );
  for await (const _ of served.text);
  return served.status;
}

describe('the gateway cache', () => {
  it('keeps answers for the subnet profile’s TTL when it sets one, else the default', () => {
    const cache = memoryOnly();
    expect(cache.ttlMs({})).toBe(300_000);
    expect(cache.ttlMs({ cacheTtlSeconds: 30 })).toBe(30_000);
    expect(cache.ttlMs({ cacheTtlSeconds: 0 })).toBe(0);
  });

  it('serves an answer until its TTL passes, and never one whose TTL is 0', async () => {
    const cache = memoryOnly();
    expect(await statusOf(cache, 'short', 60)).toBe('miss');
    expect(await statusOf(cache, 'short', 60)).toBe('hit');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await statusOf(cache, 'short', 60)).toBe('miss');
    expect(await statusOf(cache, 'never', 0)).toBe('miss');
    expect(await statusOf(cache, 'never', 0)).toBe('miss');
  });

  it('counts what it did in its stats', async () => {
    const cache = memoryOnly();
    await statusOf(cache, 'counted', 60_000);
    await statusOf(cache, 'counted', 60_000);
    cache.recordLookup(1, 'bypass', false);
    const stats = cache.stats();
    expect(stats.requests).toMatchObject({ hits: { memory: 1 }, misses: 1, bypassed: 1, hitRatio: 0.5 });
    expect(stats.memory.entries).toBe(1);
    expect(stats.redis).toBeNull();
  });
});
