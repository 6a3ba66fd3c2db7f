/**
 * What the ONNX reranker costs per request for a 256-miner subnet, next to the blended-score baseline in
 * the same process: miner choice without and with the reranker (the synchronous part a request waits for:
 * with stats changed since the last run, that includes building 256 feature rows and starting a run),
 * and the batched inference itself (one session.run over 256 rows, which runs beside requests).
 * Run: `node load-tests/reranker.ts [iterations]`.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { UpstreamError } from '../adapters/index.ts';
import { DEFAULT_RERANKER_MODEL_PATH } from '../config/settings-schema.ts';
import type { Candidate } from '../router/candidates.ts';
import { createMinerHealth } from '../router/miner-health.ts';
import { createReranker, FEATURE_COUNT, INPUT_NAME, type MinerRanking } from '../router/reranker/index.ts';
import type { ResilienceSettings } from '../router/settings.ts';

const CANDIDATES = 256;
/** The target for one inference over a subnet's candidates. */
const INFERENCE_TARGET_US = 100;
const iterations = Number(process.argv[2] ?? 5_000);
const warmup = Math.ceil(iterations / 10);

const settings: ResilienceSettings = {
  statsHalfLifeMs: 60_000,
  breaker: { failureThreshold: 1_000, cooldownMs: 10_000, maxCooldownMs: 60_000 },
  retryBudget: { ratio: 0.2, floor: 10, windowMs: 10_000 },
  inFlight: { minerMaxInFlight: 64, subnetMaxInFlight: 100_000 },
};

const pool: Candidate[] = Array.from({ length: CANDIDATES }, (_, i) => ({
  netuid: 1,
  uid: i + 1,
  hotkey: `hotkey-${i + 1}`,
  ip: '127.0.0.1',
  port: 9000,
  incentive: (i + 1) / (CANDIDATES * 200),
  stake: 100 * (i + 1),
}));

/** A health with some history per miner, as a gateway has after a while; every 10th miner failing. */
function healthWith(ranking: MinerRanking | undefined) {
  let now = 0;
  const health = createMinerHealth({ ...settings, ranking }, () => now);
  for (let round = 0; round < 5; round++) {
    for (const miner of pool) {
      now += 1;
      const attempt = health.dispatch(miner);
      if (miner.uid % 10 === 0) attempt.failed(new UpstreamError('upstream_rejected', 'staged'));
      else attempt.succeeded(50 + (miner.uid % 7) * 10);
      attempt.release();
    }
  }
  return health;
}

/**
 * Times `choose` as a request sees it: an outcome arrived since the last request (so the reranker has
 * new stats to score), then one choice. Only the choice is timed.
 */
async function timeChoices(health: ReturnType<typeof healthWith>, afterEach?: () => Promise<void>) {
  const samples: number[] = [];
  const none = new Set<number>();
  for (let i = 0; i < warmup + iterations; i++) {
    const attempt = health.dispatch(pool[i % CANDIDATES]!);
    attempt.succeeded(60);
    attempt.release();
    const started = performance.now();
    health.choose(1, pool, none);
    const elapsed = performance.now() - started;
    if (i >= warmup) samples.push(elapsed);
    await afterEach?.();
  }
  return samples;
}

async function timeInference(): Promise<number[]> {
  const session = await InferenceSession.create(DEFAULT_RERANKER_MODEL_PATH);
  const rows = Float32Array.from({ length: CANDIDATES * FEATURE_COUNT }, (_, i) => (i % 13) / 13);
  const samples: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const started = performance.now();
    await session.run({ [INPUT_NAME]: new Tensor('float32', rows, [CANDIDATES, FEATURE_COUNT]) });
    const elapsed = performance.now() - started;
    if (i >= warmup) samples.push(elapsed);
  }
  await session.release();
  return samples;
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000).toFixed(1);
  return `${label.padEnd(54)} median ${at(0.5).padStart(7)} µs   p99 ${at(0.99).padStart(7)} µs`;
}

const reranker = createReranker({ modelPath: DEFAULT_RERANKER_MODEL_PATH });
await reranker.loaded();
const blended = await timeChoices(healthWith(undefined));
// Waiting for each run between requests, so every choice finds stale scores and starts a new run.
const reranked = await timeChoices(healthWith({ reranker }), () => reranker.settled());
const inference = await timeInference();
await reranker.close();

const added = median(reranked) - median(blended);
const inferenceUs = median(inference) * 1000;
process.stdout.write(
  `${CANDIDATES} candidates, ${iterations} iterations, node ${process.version}\n` +
    `${summary('choose, blended weights (baseline)', blended)}\n` +
    `${summary('choose, blended × reranker (rows built, run started)', reranked)}\n` +
    `${summary('ONNX inference: one session.run over 256 rows', inference)}\n` +
    `reranker added to a request: ${(added * 1000).toFixed(1)} µs (difference of the choose medians)\n` +
    `${inferenceUs <= INFERENCE_TARGET_US ? 'PASS' : 'FAIL'}  reranker inference for ${CANDIDATES} candidates ≤ ` +
    `${INFERENCE_TARGET_US} µs median: ${inferenceUs.toFixed(1)} µs\n`,
);

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}
