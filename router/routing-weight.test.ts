import { describe, expect, it } from 'vitest';
import type { ObservedQuality } from './miner-stats.ts';
import {
  answersInTypicalTime,
  EXPLORATION_SHARE,
  knownLatency,
  routingWeights,
  selectionWeights,
  type WeightInput,
} from './routing-weight.ts';
import { selectIndex } from './select.ts';

/** Latency samples are the answers unless said otherwise. */
function observed(partial: Partial<ObservedQuality>): ObservedQuality {
  return {
    successes: 0,
    failures: 0,
    timeouts: 0,
    latencySamples: partial.successes ?? 0,
    latencyEwmaMs: undefined,
    ...partial,
  };
}

const proven = (latencyEwmaMs = 100) => observed({ successes: 50, latencyEwmaMs });

function shares(inputs: WeightInput[]): number[] {
  const weights = routingWeights(inputs);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight) => weight / total);
}

describe('routing weights', () => {
  it('follow incentive when nothing has been observed', () => {
    const [a, b] = shares([
      { incentive: 0.75, observed: undefined },
      { incentive: 0.25, observed: undefined },
    ]);
    expect(a! / b!).toBeCloseTo((0.75 + EXPLORATION_SHARE / 2) / (0.25 + EXPLORATION_SHARE / 2));
  });

  it('give a never-tried miner a prior below a proven one, but far from zero', () => {
    const [fresh, known] = routingWeights([
      { incentive: 0.5, observed: undefined },
      { incentive: 0.5, observed: proven() },
    ]);
    expect(fresh! / known!).toBeGreaterThan(0.85);
    expect(fresh! / known!).toBeLessThan(1);
  });

  it('take traffic away from a miner that fails, in proportion to its failure rate', () => {
    const [healthy, half, failing] = routingWeights([
      { incentive: 1 / 3, observed: proven() },
      { incentive: 1 / 3, observed: observed({ successes: 25, failures: 25, latencyEwmaMs: 100 }) },
      { incentive: 1 / 3, observed: observed({ failures: 50 }) },
    ]);
    expect(half! / healthy!).toBeCloseTo(0.5, 1);
    expect(failing! / healthy!).toBeLessThan(0.05);
  });

  it('take traffic away from a miner slower than the subnet median, but not for jitter', () => {
    const [median, jittery, slow] = routingWeights([
      { incentive: 0.25, observed: proven(100) },
      { incentive: 0.25, observed: proven(120) },
      { incentive: 0.25, observed: proven(1000) },
      { incentive: 0.25, observed: proven(100) },
    ]);
    expect(jittery).toBe(median);
    // Nine times the median (110 ms): (1.25 / 9)² ≈ 2% of the traffic, plus a little doubt left.
    expect(slow! / median!).toBeGreaterThan(0.01);
    expect(slow! / median!).toBeLessThan(0.08);
  });

  it('trust a latency seen a few times less than one seen often', () => {
    const [, , , onceSlow, oftenSlow] = routingWeights([
      { incentive: 0.2, observed: proven(100) },
      { incentive: 0.2, observed: proven(100) },
      { incentive: 0.2, observed: proven(100) },
      { incentive: 0.2, observed: observed({ successes: 1, latencyEwmaMs: 1000 }) },
      { incentive: 0.2, observed: proven(1000) },
    ]);
    expect(onceSlow).toBeGreaterThan(2 * oftenSlow!);
  });

  it('bound the exploration share of unscored miners however many there are', () => {
    const inputs: WeightInput[] = [{ incentive: 1, observed: undefined }];
    for (let i = 0; i < 200; i++) inputs.push({ incentive: 0, observed: undefined });
    const [scored, ...unscored] = shares(inputs);

    expect(scored).toBeGreaterThan(1 - EXPLORATION_SHARE);
    expect(unscored.every((share) => share > 0)).toBe(true);
  });

  it('are uniform on a subnet without incentive', () => {
    const weights = routingWeights([
      { incentive: 0, observed: undefined },
      { incentive: 0, observed: undefined },
    ]);
    expect(weights[0]).toBeGreaterThan(0);
    expect(weights[0]).toBe(weights[1]);
  });
});

describe('answering in typical time', () => {
  it('is known of a miner seen answering within the tolerance of the median, and of no other', () => {
    expect(answersInTypicalTime(proven(120), 100)).toBe(true);
    expect(answersInTypicalTime(proven(200), 100)).toBe(false);
    expect(answersInTypicalTime(undefined, 100)).toBe(false);
    expect(answersInTypicalTime(proven(100), undefined)).toBe(false);
    // Answers faded below half their weight are no longer known.
    expect(answersInTypicalTime(observed({ successes: 0.4, latencyEwmaMs: 100 }), 100)).toBe(false);
  });

  it('needs answers: waits of calls a hedge overtook are floors, not latencies', () => {
    expect(knownLatency(proven(120))).toBe(120);
    expect(knownLatency(observed({ successes: 0, latencySamples: 3, latencyEwmaMs: 60 }))).toBeUndefined();
  });
});

describe('selection weights', () => {
  const mixed: WeightInput[] = [
    { incentive: 0.6, observed: proven(100) },
    { incentive: 0.3, observed: observed({ failures: 50 }) },
    { incentive: 0.1, observed: proven(1000) },
  ];

  it('are the blended routing weights by default', () => {
    expect(selectionWeights('blended', mixed)).toEqual(routingWeights(mixed));
  });

  it('follow incentive alone, ignoring what was observed, when weighted by incentive', () => {
    const exploration = EXPLORATION_SHARE / 3;
    expect(selectionWeights('incentive', mixed)).toEqual([0.6, 0.3, 0.1].map((i) => i + exploration));
  });

  it('weigh every miner alike when uniform', () => {
    expect(selectionWeights('uniform', mixed)).toEqual([1, 1, 1]);
  });
});

describe('selectIndex', () => {
  it('picks in proportion to the weights', () => {
    const weights = [1, 2, 1];
    expect(selectIndex(weights, () => 0)).toBe(0);
    expect(selectIndex(weights, () => 0.3)).toBe(1);
    expect(selectIndex(weights, () => 0.74)).toBe(1);
    expect(selectIndex(weights, () => 0.76)).toBe(2);
  });

  it('never picks a weight of zero', () => {
    const weights = [0, 1, 0];
    for (const point of [0, 0.5, 0.9999]) expect(selectIndex(weights, () => point)).toBe(1);
  });

  it('picks nothing when nothing weighs anything', () => {
    expect(selectIndex([0, 0, 0], () => 0.5)).toBeUndefined();
  });
});
