import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RERANKER_MODEL_PATH } from '../../config/settings-schema.ts';
import { FEATURE_COUNT, FEATURE_NAMES, type MinerFacts, writeFeatures } from './features.ts';
import type { LinearModel } from './linear-model.ts';
import { writeOnnxModel } from './onnx-export.ts';
import { createReranker, type Reranker } from './reranker.ts';

const dir = await mkdtemp(join(tmpdir(), 'taogate-reranker-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const opened: Reranker[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((reranker) => reranker.close()));
});

function open(modelPath: string, warnings: string[] = []): Reranker {
  const reranker = createReranker({
    modelPath,
    pollMs: 20,
    log: (level, message) => {
      if (level === 'warn') warnings.push(message);
    },
  });
  opened.push(reranker);
  return reranker;
}

/** A model that only looks at the success rate, with a bias that sets where scores sit. */
function modelWithBias(bias: number): LinearModel {
  return { weights: FEATURE_NAMES.map((name) => (name === 'success_rate' ? 6 : 0)), bias };
}

function rows(...miners: MinerFacts[]): Float32Array {
  const features = new Float32Array(miners.length * FEATURE_COUNT);
  miners.forEach((miner, row) => {
    writeFeatures(features, row, miner, { medianLatencyMs: 80 }, { promptChars: 100, stream: true });
  });
  return features;
}

const healthy: MinerFacts = {
  incentive: 0.02,
  stake: 1_000,
  observed: { successes: 30, failures: 0.2, timeouts: 0, latencySamples: 30, latencyEwmaMs: 80 },
  latencyP95Ms: 110,
  msSinceLastFailure: 600_000,
  inFlight: 1,
};
const failing: MinerFacts = {
  ...healthy,
  observed: { successes: 1, failures: 9, timeouts: 0, latencySamples: 1, latencyEwmaMs: 80 },
  msSinceLastFailure: 500,
};

/** Stands for the router's stats version: every call here is a change, so each asks for a fresh run. */
let version = 0;

/** Asks for scores until the reranker has some for `pool`, starting a new run each time. */
async function scoresOnceReady(
  reranker: Reranker,
  pool: object,
  features: Float32Array,
): Promise<Float32Array> {
  return vi.waitFor(
    async () => {
      reranker.scores(pool, version++, () => features);
      await reranker.settled();
      const scores = reranker.scores(pool, version, () => features);
      if (!scores) throw new Error('no scores yet');
      return scores;
    },
    { timeout: 10_000, interval: 30 },
  );
}

describe('the reranker', () => {
  it('has no scores while its model file is absent, so selection keeps blended weights', async () => {
    const reranker = open(join(dir, 'absent.onnx'));
    await reranker.loaded();
    expect(reranker.scores([], 1, () => rows(healthy))).toBeUndefined();
  });

  it('picks up a model written after it started, then a replacement of it', async () => {
    const path = join(dir, 'swapped.onnx');
    const reranker = open(path);
    await reranker.loaded();
    const pool = {};
    const features = rows(healthy);
    expect(reranker.scores(pool, 0, () => features)).toBeUndefined();

    await writeOnnxModel(path, modelWithBias(-2));
    const first = (await scoresOnceReady(reranker, pool, features))[0]!;

    await writeOnnxModel(path, modelWithBias(-6));
    await vi.waitFor(
      async () => {
        const [second] = await scoresOnceReady(reranker, pool, features);
        expect(second!).toBeLessThan(first - 0.1);
      },
      { timeout: 10_000, interval: 30 },
    );
  });

  it('keeps the previous model when a new file does not load', async () => {
    const path = join(dir, 'broken.onnx');
    await writeOnnxModel(path, modelWithBias(-2));
    const warnings: string[] = [];
    const reranker = open(path, warnings);
    const pool = {};
    const before = (await scoresOnceReady(reranker, pool, rows(healthy)))[0]!;
    await writeFile(path, 'not an onnx model');
    await vi.waitFor(() => expect(warnings.join()).toMatch(/did not load/), {
      timeout: 10_000,
      interval: 20,
    });
    const after = (await scoresOnceReady(reranker, pool, rows(healthy)))[0]!;
    expect(after).toBeCloseTo(before, 6);
  });

  it('ships a default model that ranks a clearly failing miner below a healthy one', async () => {
    const reranker = open(DEFAULT_RERANKER_MODEL_PATH);
    const [healthyScore, failingScore] = await scoresOnceReady(reranker, {}, rows(healthy, failing));
    expect(failingScore!).toBeLessThan(healthyScore! - 0.2);
  });
});
