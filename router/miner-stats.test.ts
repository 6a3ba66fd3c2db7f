import { describe, expect, it } from 'vitest';
import { LatencyWindow } from './latency-window.ts';
import { MinerStats } from './miner-stats.ts';

const HALF_LIFE_MS = 60_000;

describe('miner stats', () => {
  it('halve the weight of past outcomes every half-life', () => {
    const stats = new MinerStats(HALF_LIFE_MS, 0);
    for (let i = 0; i < 8; i++) stats.recordSuccess(10, 0);
    for (let i = 0; i < 4; i++) stats.recordFailure('upstream_rejected', 0);

    expect(stats.quality(0)).toMatchObject({ successes: 8, failures: 4 });
    expect(stats.quality(HALF_LIFE_MS)).toMatchObject({ successes: 4, failures: 2 });
    const later = stats.quality(10 * HALF_LIFE_MS);
    expect(later.successes).toBeCloseTo(8 / 1024);
  });

  it('weigh a new outcome fully, next to older ones that faded', () => {
    const stats = new MinerStats(HALF_LIFE_MS, 0);
    stats.recordFailure('upstream_unreachable', 0);
    stats.recordSuccess(10, HALF_LIFE_MS);

    expect(stats.quality(HALF_LIFE_MS)).toMatchObject({ successes: 1, failures: 0.5 });
  });

  it('let a race lost without a first chunk slow the moving average, without counting an outcome', () => {
    const stats = new MinerStats(HALF_LIFE_MS, 0);
    stats.recordSuccess(10, 0);
    stats.recordOutwaited(5, 0);
    expect(stats.quality(0)).toMatchObject({ successes: 1, failures: 0, latencyEwmaMs: 10 });
    for (let i = 0; i < 10; i++) stats.recordOutwaited(200, 0);
    const after = stats.quality(0);
    expect(after).toMatchObject({ successes: 1, failures: 0, timeouts: 0, latencySamples: 12 });
    expect(after.latencyEwmaMs).toBeGreaterThan(100);
  });

  it('learn the latency of a miner that is always overtaken, from its waits alone', () => {
    const stats = new MinerStats(HALF_LIFE_MS, 0);
    stats.recordOutwaited(80, 0);
    expect(stats.quality(0)).toMatchObject({ successes: 0, latencySamples: 1, latencyEwmaMs: 80 });
    expect(stats.quality(HALF_LIFE_MS).latencySamples).toBeCloseTo(0.5);
  });

  it('count timeouts as failures, and apart', () => {
    const stats = new MinerStats(HALF_LIFE_MS, 0);
    stats.recordFailure('upstream_timeout', 0);
    stats.recordFailure('upstream_invalid', 0);

    expect(stats.quality(0)).toMatchObject({ successes: 0, failures: 2, timeouts: 1 });
  });

  it('smooth the time to first chunk, so one slow answer moves it by a fifth', () => {
    const stats = new MinerStats(HALF_LIFE_MS, 0);
    expect(stats.quality(0).latencyEwmaMs).toBeUndefined();
    stats.recordSuccess(100, 0);
    stats.recordSuccess(200, 0);

    expect(stats.quality(0).latencyEwmaMs).toBeCloseTo(120);
  });

  it('estimate the p95 of the recent answers', () => {
    const stats = new MinerStats(HALF_LIFE_MS, 0);
    for (let ms = 1; ms <= 20; ms++) stats.recordSuccess(ms, 0);

    expect(stats.latencyP95Ms()).toBe(19);
  });
});

describe('latency window', () => {
  it('hold only the newest samples, so memory stays bounded and the tail follows the miner', () => {
    const window = new LatencyWindow(64);
    for (let i = 0; i < 1000; i++) window.add(1000);
    for (let i = 0; i < 64; i++) window.add(5);

    expect(window.quantile(0.95)).toBe(5);
    expect(window.quantile(1)).toBe(5);
  });

  it('give the nearest-rank quantiles of exactly the newest samples, repeats and all', () => {
    const window = new LatencyWindow(8);
    const added: number[] = [];
    let seed = 7;
    for (let i = 0; i < 200; i++) {
      seed = (seed * 48271) % 2147483647;
      const ms = seed % 13; // few distinct values: equal samples come and go
      window.add(ms);
      added.push(ms);
      const newest = added.slice(-8).sort((a, b) => a - b);
      for (const q of [0, 0.1, 0.5, 0.95, 1]) {
        expect(window.quantile(q)).toBe(newest[Math.max(0, Math.ceil(q * newest.length) - 1)]);
      }
    }
  });

  it('answer undefined before the first sample', () => {
    expect(new LatencyWindow().quantile(0.95)).toBeUndefined();
  });
});
