import { describe, expect, it } from 'vitest';
import { createSubnetTraffic, SLOT_MS } from './subnet-traffic.ts';

const ok = (netuid: number, ms: number) => ({
  netuid,
  seconds: ms / 1000,
  firstTokenSeconds: ms / 2000,
  errorCode: undefined,
});

describe('per-subnet traffic', () => {
  it('counts exactly and takes latency quantiles over successful requests only', () => {
    const traffic = createSubnetTraffic(() => 1_000_000);
    for (let ms = 1; ms <= 100; ms++) traffic.recordRequest(ok(1, ms));
    traffic.recordRequest({ netuid: 1, seconds: 30, firstTokenSeconds: undefined, errorCode: '504' });
    traffic.recordCacheLookup(1, 'hit');
    traffic.recordCacheLookup(1, 'miss');
    traffic.recordCacheLookup(1, 'bypass');

    const summary = traffic.summary(1);
    expect(summary).toMatchObject({ requests: 101, errors: 1, successRate: 100 / 101 });
    expect(summary.latencyMs).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(summary.firstTokenMs).toEqual({ p50: 25, p95: 47.5 });
    expect(summary.cache).toEqual({ hits: 1, misses: 1, hitRate: 0.5 });
    expect(traffic.summary(2)).toMatchObject({ requests: 0, successRate: null, latencyMs: { p50: null } });
  });

  it('keeps 5-second points for the last 10 minutes, oldest first', () => {
    let now = 10 * SLOT_MS;
    const traffic = createSubnetTraffic(() => now);
    traffic.recordRequest(ok(4, 10));
    traffic.recordRequest(ok(4, 30));
    now += SLOT_MS;
    traffic.recordRequest(ok(4, 20));
    traffic.recordCacheLookup(4, 'hit');

    expect(traffic.series(4)).toEqual([
      { t: 10 * SLOT_MS, requests: 2, errors: 0, cacheHits: 0, p50Ms: 10, p95Ms: 30 },
      { t: 11 * SLOT_MS, requests: 1, errors: 0, cacheHits: 1, p50Ms: 20, p95Ms: 20 },
    ]);
    now += 10 * 60_000 + SLOT_MS;
    expect(traffic.series(4)).toEqual([]);
  });
});
