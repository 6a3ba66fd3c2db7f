import type { ObservedQuality } from '../miner-stats.ts';

/** What the router knows of one candidate miner, and of the request, when it chooses. */
export interface MinerFacts {
  /** On-chain incentive, in [0, 1]. */
  incentive: number;
  /** Stake in TAO. */
  stake: number;
  /** Undefined if the gateway never called the miner. */
  observed: ObservedQuality | undefined;
  latencyP95Ms: number | undefined;
  /** Undefined if the miner never failed. */
  msSinceLastFailure: number | undefined;
  inFlight: number;
}

/** What the request looks like: the same for every candidate of one request. */
export interface RequestFacts {
  promptChars: number;
  stream: boolean;
}

/** Median moving-average latency of the subnet's observed miners, undefined if none was observed. */
export interface SubnetFacts {
  medianLatencyMs: number | undefined;
}

interface FeatureDefinition {
  name: string;
  value(miner: MinerFacts, subnet: SubnetFacts, request: RequestFacts): number;
}

/** Failures older than this tell little more than "long ago": the value saturates at 1. */
const FAILURE_MEMORY_MS = 10 * 60_000;
/** Latency ratios are compared as log2 and clipped: 16× slower than the median is as bad as it gets. */
const MAX_LOG2_RATIO = 4;

/**
 * The one definition of the reranker's input vector: its order is the column order of traces, of the
 * trainer and of the ONNX model's `features` input. Training and inference both build vectors through
 * `writeFeatures`, so they cannot drift; changing this list means retraining (and bumping the version,
 * which makes the trainer refuse older traces).
 *
 * Scaling keeps every column within a few units so plain gradient descent converges; the trainer still
 * standardises, and folds that into the exported weights.
 */
export const FEATURE_SPEC: readonly FeatureDefinition[] = [
  { name: 'incentive', value: (m) => m.incentive },
  { name: 'log_stake', value: (m) => Math.log1p(Math.max(0, m.stake)) },
  // One pseudo-observation at 0.9 keeps a never-tried miner's rate defined and mildly optimistic.
  { name: 'success_rate', value: (m) => (successes(m) + 0.9) / (observations(m) + 1) },
  { name: 'timeout_rate', value: (m) => (m.observed?.timeouts ?? 0) / (observations(m) + 1) },
  {
    name: 'log2_latency_vs_median',
    value: (m, s) => log2Ratio(m.observed?.latencyEwmaMs, s.medianLatencyMs),
  },
  { name: 'log2_p95_vs_median', value: (m, s) => log2Ratio(m.latencyP95Ms, s.medianLatencyMs) },
  { name: 'log_observations', value: (m) => Math.log1p(observations(m)) },
  {
    name: 'since_last_failure',
    value: (m) =>
      m.msSinceLastFailure === undefined ? 1 : Math.min(1, m.msSinceLastFailure / FAILURE_MEMORY_MS),
  },
  { name: 'log_in_flight', value: (m) => Math.log1p(m.inFlight) },
  { name: 'log_prompt_chars', value: (_m, _s, r) => Math.log1p(r.promptChars) },
  { name: 'stream', value: (_m, _s, r) => (r.stream ? 1 : 0) },
];

export const FEATURE_COUNT = FEATURE_SPEC.length;
export const FEATURE_NAMES: readonly string[] = FEATURE_SPEC.map((f) => f.name);
/** Recorded with every trace; bump whenever FEATURE_SPEC changes meaning. */
export const FEATURE_VERSION = 1;

/** Writes one miner's vector into `into` at row `row` (row-major, FEATURE_COUNT columns). */
export function writeFeatures(
  into: Float32Array,
  row: number,
  miner: MinerFacts,
  subnet: SubnetFacts,
  request: RequestFacts,
): void {
  const offset = row * FEATURE_COUNT;
  for (let i = 0; i < FEATURE_COUNT; i++) into[offset + i] = FEATURE_SPEC[i]!.value(miner, subnet, request);
}

function successes(miner: MinerFacts): number {
  return miner.observed?.successes ?? 0;
}

function observations(miner: MinerFacts): number {
  return (miner.observed?.successes ?? 0) + (miner.observed?.failures ?? 0);
}

function log2Ratio(latencyMs: number | undefined, medianMs: number | undefined): number {
  if (latencyMs === undefined || medianMs === undefined || latencyMs <= 0 || medianMs <= 0) return 0;
  return Math.max(-MAX_LOG2_RATIO, Math.min(MAX_LOG2_RATIO, Math.log2(latencyMs / medianMs)));
}
