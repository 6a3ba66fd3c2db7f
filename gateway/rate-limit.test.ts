import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis, waitForRedis } from '../cache/index.ts';
import { createLocalRateLimiter, createRedisRateLimiter } from './rate-limit.ts';

describe('rate limits', () => {
  const redis = connectRedis('redis://127.0.0.1:6379');
  afterAll(() => closeRedis(redis));

  it('allows a bucket its number of requests per minute, then says when to retry', async () => {
    let now = 120_000 + 45_000;
    const limiter = createLocalRateLimiter(() => now);
    expect((await limiter.take('key', 2)).ok).toBe(true);
    expect((await limiter.take('key', 2)).ok).toBe(true);
    expect(await limiter.take('key', 2)).toEqual({ ok: false, retryAfterSeconds: 15 });
    expect((await limiter.take('other', 2)).ok).toBe(true);
    now += 15_000;
    expect((await limiter.take('key', 2)).ok).toBe(true);
  });

  it('counts across replicas in Redis', async () => {
    expect(await waitForRedis(redis)).toBe(true);
    const prefix = `taogate:test:ratelimit:${randomBytes(6).toString('hex')}:`;
    const replicas = [createRedisRateLimiter(redis, prefix), createRedisRateLimiter(redis, prefix)];
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push((await replicas[i % 2]!.take('key', 4)).ok);
    expect(decisions.filter(Boolean)).toHaveLength(4);
    await redis.del(...(await redis.keys(`${prefix}*`)));
  });
});
