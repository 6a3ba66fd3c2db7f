import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis, waitForRedis } from '../cache/index.ts';
import { createImageStore } from './image-store.ts';

const image = (bytes: number, format: 'png' | 'jpeg' = 'png') => ({ bytes: Buffer.alloc(bytes, 7), format });

describe('the image store', () => {
  it('serves an image by its id until it expires', async () => {
    const store = createImageStore({ ttlMs: 40, maxBytes: 1 << 20 });
    const stored = (await store.put(image(10)))!;
    expect(stored.id).toMatch(/^img-[0-9a-f]{32}$/);
    expect((await store.get(stored.id))?.bytes.length).toBe(10);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await store.get(stored.id)).toBeUndefined();
  });

  it('keeps within its byte budget by dropping the least recently used, and refuses what cannot fit', async () => {
    const store = createImageStore({ ttlMs: 60_000, maxBytes: 100 });
    const first = (await store.put(image(40)))!;
    const second = (await store.put(image(40)))!;
    await store.get(first.id);
    const third = (await store.put(image(40)))!;
    expect(await store.get(second.id)).toBeUndefined();
    expect(await store.get(first.id)).toBeDefined();
    expect(await store.get(third.id)).toBeDefined();
    expect(await store.put(image(101))).toBeUndefined();
  });

  describe('shared through Redis', () => {
    let redis: Redis;
    const prefix = `taogate-test:images:${randomUUID()}:`;
    beforeAll(async () => {
      redis = connectRedis('redis://127.0.0.1:6379', { commandTimeoutMs: 2000 });
      await waitForRedis(redis);
    });
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await closeRedis(redis);
    });

    it('serves on one replica an image another stored, with its format and expiry', async () => {
      const settings = { ttlMs: 30_000, maxBytes: 1 << 20 };
      const [one, other] = [
        createImageStore(settings, { redis, prefix }),
        createImageStore(settings, { redis, prefix }),
      ];
      const stored = (await one.put(image(1000, 'jpeg')))!;
      const served = (await other.get(stored.id))!;
      expect(served.format).toBe('jpeg');
      expect(served.bytes.equals(image(1000).bytes)).toBe(true);
      expect(served.expiresAt).toBeGreaterThan(Date.now() + 25_000);
      expect(await other.get('img-unknown')).toBeUndefined();
    });
  });
});
