import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../adapters/index.ts';
import type { Candidate } from '../candidates.ts';
import { createMinerHealth } from '../miner-health.ts';
import type { ResilienceSettings } from '../settings.ts';
import { FEATURE_NAMES } from './features.ts';
import type { MinerRanking } from './index.ts';
import { writeOnnxModel } from './onnx-export.ts';
import { createReranker } from './reranker.ts';
import { createTraceRecorder } from './trace-recorder.ts';

const dir = await mkdtemp(join(tmpdir(), 'taogate-selection-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const settings: ResilienceSettings = {
  statsHalfLifeMs: 60_000,
  // High enough that two failures leave the circuit closed: the reranker, not the breaker, is under test.
  breaker: { failureThreshold: 10, cooldownMs: 10_000, maxCooldownMs: 60_000 },
  retryBudget: { ratio: 0.2, floor: 10, windowMs: 10_000 },
  inFlight: { minerMaxInFlight: 8, subnetMaxInFlight: 64 },
};

const pool: Candidate[] = [1, 2, 3].map((uid) => ({
  netuid: 1,
  uid,
  hotkey: `hotkey-${uid}`,
  ip: '127.0.0.1',
  port: 9000 + uid,
  incentive: 1 / 3,
  stake: 100,
}));

/** Miners 1 and 2 answered twice each; miner 3 failed twice. Returns the health with this history. */
function healthAfterHistory(ranking: MinerRanking | undefined) {
  const now = 1_000;
  const health = createMinerHealth({ ...settings, ranking }, () => now);
  for (const miner of pool) {
    for (let i = 0; i < 2; i++) {
      const attempt = health.dispatch(miner);
      if (miner.uid === 3) attempt.failed(new UpstreamError('upstream_rejected', 'staged'));
      else attempt.succeeded(50);
      attempt.release();
    }
  }
  return health;
}

const shareOf = (health: ReturnType<typeof createMinerHealth>, uid: number) =>
  health.report(pool).find((miner) => miner.uid === uid)!.share;

describe('selection with the reranker', () => {
  it('weighs each miner by its blended weight times the probability the model gives it', async () => {
    const path = join(dir, 'success-rate.onnx');
    await writeOnnxModel(path, {
      weights: FEATURE_NAMES.map((name) => (name === 'success_rate' ? 8 : 0)),
      bias: -4,
    });
    const reranker = createReranker({ modelPath: path, log: () => {} });
    await reranker.loaded();
    const blended = shareOf(healthAfterHistory(undefined), 3);
    const health = healthAfterHistory({ reranker });
    // The first look starts inference beside the request and, with no scores yet, uses blended weights.
    expect(shareOf(health, 3)).toBeCloseTo(blended, 9);
    await reranker.settled();
    // success_rate: 2.9 / 3 for miners 1 and 2, 0.9 / 3 for miner 3.
    const [healthy, failing] = [1 / (1 + Math.exp(-(8 * (2.9 / 3) - 4))), 1 / (1 + Math.exp(-(8 * 0.3 - 4)))];
    const reranked = shareOf(health, 3);
    expect(reranked).toBeLessThan(blended / 2);
    const odds = (share: number) => share / ((1 - share) / 2);
    expect(odds(reranked) / odds(blended)).toBeCloseTo(failing / healthy, 3);
    await reranker.close();
  });

  it('keeps blended weights when the model file is absent', async () => {
    const reranker = createReranker({ modelPath: join(dir, 'absent.onnx'), log: () => {} });
    await reranker.loaded();
    const health = healthAfterHistory({ reranker });
    health.report(pool);
    await reranker.settled();
    expect(health.report(pool).map((m) => m.share)).toEqual(
      healthAfterHistory(undefined)
        .report(pool)
        .map((m) => m.share),
    );
    expect(health.choose(1, pool, new Set(), () => 0.5)).toMatchObject({ kind: 'chosen' });
    await reranker.close();
  });

  it('records every finished attempt with its features and outcome', async () => {
    const traces = createTraceRecorder();
    const health = createMinerHealth({ ...settings, ranking: { traces } }, () => 0);
    health.report(pool);
    const first = health.dispatch(pool[0]!);
    const second = health.dispatch(pool[0]!);
    first.succeeded(40);
    second.failed(new UpstreamError('upstream_invalid', 'garbage'));
    health.dispatch(pool[1]!).abandoned();
    const recorded = traces.recent();
    expect(recorded.map((trace) => trace.outcome)).toEqual([1, 0]);
    expect(recorded[0]!.features[FEATURE_NAMES.indexOf('log_stake')]).toBeCloseTo(Math.log1p(100), 5);
    // The second call was dispatched while the first still held its slot.
    expect(recorded[1]!.features[FEATURE_NAMES.indexOf('log_in_flight')]).toBeCloseTo(Math.log1p(1), 5);
    await traces.close();
  });

  it('records a call a hedge overtook as a bad trace, and a hedge cut short by the call it raced not at all', async () => {
    const traces = createTraceRecorder();
    const health = createMinerHealth({ ...settings, ranking: { traces } }, () => 0);
    for (const miner of pool) {
      const attempt = health.dispatch(miner);
      attempt.succeeded(50);
      attempt.release();
    }
    health.dispatch(pool[0]!).abandoned(120);
    health.dispatch(pool[1]!).abandoned(400);
    health.dispatch(pool[2]!).abandoned();
    expect(traces.recent().map((trace) => trace.outcome)).toEqual([1, 1, 1, 0, 0]);
    await traces.close();
  });
});
