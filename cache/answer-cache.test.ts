import { afterAll, describe, expect, it } from 'vitest';
import { type AnswerCacheOptions, type CacheEvent, createAnswerCache, type Produce } from './answer-cache.ts';
import { closeRedis, connectRedis, waitForRedis } from './redis.ts';
import { createReplicaCoordination } from './replica-coordination.ts';
import { createTieredStore } from './tiered-store.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `taogate-test:answer-cache:${process.pid}:${Date.now()}:`;

function memoryCache(
  maxBytes = 1 << 20,
  replicas?: AnswerCacheOptions['replicas'],
  redis?: ReturnType<typeof connectRedis>,
  lockMs = 2000,
) {
  const events: CacheEvent[] = [];
  const store = createTieredStore({
    maxBytes,
    redis,
    prefix,
    onRedisError: () => events.push('redis_error'),
  });
  const cache = createAnswerCache({ store, replicas, lockMs, observe: (event) => events.push(event) });
  return { cache, store, events };
}

/** An upstream that answers `words` one chunk at a time, counting its calls and noticing cancellation. */
function upstream(words: string[], chunkDelayMs = 2) {
  const state = { calls: 0, cancelled: 0 };
  const produce: Produce<{ by: string }> = async (signal) => {
    state.calls++;
    signal.addEventListener('abort', () => state.cancelled++);
    async function* text() {
      for (const word of words) {
        await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
        if (signal.aborted) throw new Error('cancelled');
        yield word;
      }
    }
    return { meta: { by: 'uid1' }, text: text(), storable: true };
  };
  return { produce, state };
}

async function collect(text: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const chunk of text) all += chunk;
  return all;
}

const lookup = (key: string, signal = new AbortController().signal) => ({
  key,
  ttlMs: 60_000,
  read: true,
  signal,
});

describe('answer cache in one process', () => {
  it('gives every caller of a coalesced call the whole text, however late it joined', async () => {
    const { cache } = memoryCache();
    const { produce, state } = upstream(['a', 'b', 'c', 'd']);
    const first = await cache.answer(lookup('k1'), produce);
    const firstText = collect(first.text);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const late = await cache.answer(lookup('k1'), produce);
    expect(late).toMatchObject({ status: 'miss', coalesced: true });
    expect(await Promise.all([firstText, collect(late.text)])).toEqual(['abcd', 'abcd']);
    expect(state.calls).toBe(1);
    const hit = await cache.answer(lookup('k1'), produce);
    expect(hit).toMatchObject({ status: 'hit', meta: { by: 'uid1' } });
    expect(await collect(hit.text)).toBe('abcd');
  });

  it('keeps the shared call going when one caller leaves, and cancels it when the last one does', async () => {
    const { cache } = memoryCache();
    const { produce, state } = upstream(['a', 'b', 'c', 'd', 'e', 'f'], 5);
    const leaving = new AbortController();
    const staying = new AbortController();
    await cache.answer(lookup('k2', leaving.signal), produce);
    const other = await cache.answer(lookup('k2', staying.signal), produce);
    leaving.abort();
    expect(state.cancelled).toBe(0);
    expect(await collect(other.text)).toBe('abcdef');

    const { produce: slow, state: slowState } = upstream(['x', 'y', 'z'], 20);
    const only = new AbortController();
    const served = await cache.answer(lookup('k3', only.signal), slow);
    only.abort();
    expect(slowState.cancelled).toBe(1);
    await expect(collect(served.text)).rejects.toThrow();
    expect((await cache.answer(lookup('k3'), slow)).status).toBe('miss');
  });

  it('shares a failure with the callers in flight but never caches it', async () => {
    const { cache } = memoryCache();
    let calls = 0;
    const failing: Produce<null> = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('no miner');
    };
    const results = await Promise.allSettled([
      cache.answer(lookup('k4'), failing),
      cache.answer(lookup('k4'), failing),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    await expect(cache.answer(lookup('k4'), failing)).rejects.toThrow('no miner');
    expect(calls).toBe(2);
  });

  it('stays within its byte bound by evicting the least recently used answers', async () => {
    const { cache, store } = memoryCache(4096);
    const big = 'x'.repeat(400);
    for (let i = 0; i < 40; i++) {
      const served = await cache.answer(lookup(`big${i}`), upstream([big], 0).produce);
      await collect(served.text);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    const stats = store.stats();
    expect(stats.bytes).toBeLessThanOrEqual(4096);
    expect(stats.evictions).toBeGreaterThan(0);
    expect((await cache.answer(lookup('big39'), upstream([big]).produce)).status).toBe('hit');
  });
});

describe('answer cache across replicas sharing Redis', () => {
  const connections: ReturnType<typeof connectRedis>[] = [];
  afterAll(async () => {
    const cleaner = connections[0];
    if (cleaner) {
      const keys = await cleaner.keys(`${prefix}*`);
      if (keys.length) await cleaner.del(...keys);
    }
    await Promise.all(connections.map((c) => closeRedis(c)));
  });

  async function replica(lockMs = 2000) {
    const redis = connectRedis(REDIS_URL);
    const subscriber = connectRedis(REDIS_URL, { queueWhileDisconnected: true });
    connections.push(redis, subscriber);
    await Promise.all([waitForRedis(redis), waitForRedis(subscriber)]);
    const replicas = createReplicaCoordination({
      redis,
      subscriber,
      prefix,
      lockMs,
      onRedisError: () => {},
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { ...memoryCache(1 << 20, replicas, redis, lockMs), redis };
  }

  it('makes one upstream call for identical requests arriving at two replicas at once', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const { produce, state } = upstream(['one ', 'call'], 10);
    const texts = await Promise.all(
      Array.from({ length: 40 }, async (_, i) =>
        collect((await (i % 2 ? a : b).cache.answer(lookup('r1'), produce)).text),
      ),
    );
    expect(new Set(texts)).toEqual(new Set(['one call']));
    expect(state.calls).toBe(1);
    expect([...a.events, ...b.events]).toContain('coalesced_replica');
  });

  it('takes over from a leader that died holding the lock once the lock lapses', async () => {
    const follower = await replica(300);
    // A leader that took the lock and then vanished: nobody renews it, nobody announces.
    await follower.redis.set(`${prefix}lock:r2`, 'dead leader', 'PX', 300);
    const { produce, state } = upstream(['late ', 'but ', 'answered']);
    const started = performance.now();
    const served = await follower.cache.answer(lookup('r2'), produce);
    expect(await collect(served.text)).toBe('late but answered');
    expect(state.calls).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });
});
