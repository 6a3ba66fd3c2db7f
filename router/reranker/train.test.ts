import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT, type MinerFacts, writeFeatures } from './features.ts';
import { scoreReference } from './linear-model.ts';
import { simulateTraffic } from './simulated-traffic.ts';
import { parseTraces, traceLine, trainLogistic } from './train.ts';

const traces = simulateTraffic({ seed: 3, requests: 6_000, miners: 32 });

function scoreOf(model: ReturnType<typeof trainLogistic>['model'], miner: MinerFacts): number {
  const row = new Float32Array(FEATURE_COUNT);
  writeFeatures(row, 0, miner, { medianLatencyMs: 80 }, { promptChars: 400, stream: false });
  return scoreReference(model, row, 1)[0]!;
}

const healthy: MinerFacts = {
  incentive: 0.01,
  stake: 1_000,
  observed: { successes: 20, failures: 0.3, timeouts: 0, latencySamples: 20, latencyEwmaMs: 80 },
  latencyP95Ms: 120,
  msSinceLastFailure: 300_000,
  inFlight: 0,
};

describe('the reranker trainer', () => {
  it('ranks a clearly failing miner below healthy ones', () => {
    const { model } = trainLogistic(traces);
    const failing: MinerFacts = {
      ...healthy,
      observed: { successes: 2, failures: 8, timeouts: 0, latencySamples: 2, latencyEwmaMs: 80 },
      msSinceLastFailure: 1_000,
    };
    const fresh: MinerFacts = {
      ...healthy,
      observed: undefined,
      latencyP95Ms: undefined,
      msSinceLastFailure: undefined,
    };
    expect(scoreOf(model, failing)).toBeLessThan(scoreOf(model, healthy) - 0.2);
    expect(scoreOf(model, failing)).toBeLessThan(scoreOf(model, fresh));
  });

  it('gives the same model for the same traces', () => {
    const first = trainLogistic(traces, { steps: 50 });
    const second = trainLogistic(traces, { steps: 50 });
    expect(second).toEqual(first);
  });

  it('holds excluded features at weight zero', () => {
    const { model } = trainLogistic(traces, { steps: 50, exclude: ['incentive', 'log_stake'] });
    expect(model.weights.slice(0, 2)).toEqual([0, 0]);
    expect(() => trainLogistic(traces, { exclude: ['no_such_feature'] })).toThrow(/no_such_feature/);
  });

  it('reads back the JSONL lines the recorder writes', () => {
    const features = Array.from({ length: FEATURE_COUNT }, (_, i) => i / 8);
    const jsonl = traceLine(features, 1) + traceLine(features, 0);
    expect(parseTraces(jsonl)).toEqual([
      { features, outcome: 1 },
      { features, outcome: 0 },
    ]);
  });

  it('refuses traces of another feature layout', () => {
    expect(() => parseTraces('{"v":0,"f":[1,2],"y":1}\n')).toThrow(/line 1/);
  });
});
