import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION } from './features.ts';
import { type LinearModel, sigmoid } from './linear-model.ts';

/** One upstream attempt: the miner's feature vector when it was chosen, and whether it answered well. */
export interface Trace {
  features: readonly number[];
  /** 1: a good answer in time; 0: failure, timeout, invalid or slow answer, or overtaken by a hedge. */
  outcome: 0 | 1;
}

export interface TrainOptions {
  /** Full-batch steps. The loss is convex, so a fixed count converges the same way every run. */
  steps?: number;
  learningRate?: number;
  /** L2 penalty on standardised weights: keeps weights finite when a feature separates outcomes fully. */
  l2?: number;
  /**
   * Features held at weight 0: those whose values in the traces say nothing about miners elsewhere (on
   * localnet, stake is 100 × uid), which a model would otherwise learn as if they did.
   */
  exclude?: readonly string[];
}

export interface TrainResult {
  model: LinearModel;
  /** Mean log-loss on the training traces, for the trainer's report. */
  logLoss: number;
}

/**
 * Logistic regression by full-batch gradient descent on standardised features, from zero weights: no
 * randomness at all, so the same traces always give the same model. The standardisation is folded into
 * the returned weights (w' = w / σ, b' = b − Σ w·μ / σ), so the model takes raw feature vectors.
 */
export function trainLogistic(traces: readonly Trace[], options: TrainOptions = {}): TrainResult {
  const { steps = 400, learningRate = 0.5, l2 = 1e-3, exclude = [] } = options;
  if (traces.length === 0) throw new Error('no traces to train on');
  const unknown = exclude.filter((name) => !FEATURE_NAMES.includes(name));
  if (unknown.length > 0) throw new Error(`no such feature: ${unknown.join(', ')}`);
  const learned = FEATURE_NAMES.map((name) => !exclude.includes(name));
  const n = traces.length;
  const { mean, std } = columnMoments(traces);
  const x = new Float64Array(n * FEATURE_COUNT);
  traces.forEach((trace, row) => {
    for (let i = 0; i < FEATURE_COUNT; i++) {
      x[row * FEATURE_COUNT + i] = (trace.features[i]! - mean[i]!) / std[i]!;
    }
  });
  const weights = new Float64Array(FEATURE_COUNT);
  let bias = 0;
  const gradient = new Float64Array(FEATURE_COUNT);
  for (let step = 0; step < steps; step++) {
    gradient.fill(0);
    let biasGradient = 0;
    for (let row = 0; row < n; row++) {
      const error = predict(x, row, weights, bias) - traces[row]!.outcome;
      biasGradient += error;
      for (let i = 0; i < FEATURE_COUNT; i++) gradient[i]! += error * x[row * FEATURE_COUNT + i]!;
    }
    for (let i = 0; i < FEATURE_COUNT; i++) {
      if (learned[i]) weights[i]! -= learningRate * (gradient[i]! / n + l2 * weights[i]!);
    }
    bias -= (learningRate * biasGradient) / n;
  }
  let logLoss = 0;
  for (let row = 0; row < n; row++) {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, predict(x, row, weights, bias)));
    logLoss -= traces[row]!.outcome === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return { model: foldStandardisation(weights, bias, mean, std), logLoss: logLoss / n };
}

/** Reads JSONL traces as the recorder writes them; lines of another feature version are refused. */
export function parseTraces(jsonl: string): Trace[] {
  const traces: Trace[] = [];
  for (const [index, line] of jsonl.split('\n').entries()) {
    if (line.trim() === '') continue;
    const parsed: unknown = JSON.parse(line);
    if (!isTraceLine(parsed))
      throw new Error(`trace line ${index + 1}: not a version ${FEATURE_VERSION} trace`);
    traces.push({ features: parsed.f, outcome: parsed.y });
  }
  return traces;
}

/** One JSONL line: short keys, since a busy gateway writes one per upstream attempt. */
export function traceLine(features: ArrayLike<number>, outcome: 0 | 1): string {
  return `{"v":${FEATURE_VERSION},"f":[${Array.from(features, roundFeature).join(',')}],"y":${outcome}}\n`;
}

function roundFeature(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function isTraceLine(value: unknown): value is { v: number; f: number[]; y: 0 | 1 } {
  if (typeof value !== 'object' || value === null) return false;
  const line = value as { v?: unknown; f?: unknown; y?: unknown };
  return (
    line.v === FEATURE_VERSION &&
    Array.isArray(line.f) &&
    line.f.length === FEATURE_COUNT &&
    line.f.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
    (line.y === 0 || line.y === 1)
  );
}

/** Below this spread a column carries no information the trainer should use. */
const MIN_SIGMA = 1e-6;

function predict(x: Float64Array, row: number, weights: Float64Array, bias: number): number {
  let logit = bias;
  for (let i = 0; i < FEATURE_COUNT; i++) logit += weights[i]! * x[row * FEATURE_COUNT + i]!;
  return sigmoid(logit);
}

function columnMoments(traces: readonly Trace[]): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(FEATURE_COUNT);
  const std = new Float64Array(FEATURE_COUNT);
  for (const trace of traces) for (let i = 0; i < FEATURE_COUNT; i++) mean[i]! += trace.features[i]!;
  for (let i = 0; i < FEATURE_COUNT; i++) mean[i]! /= traces.length;
  for (const trace of traces) {
    for (let i = 0; i < FEATURE_COUNT; i++) std[i]! += (trace.features[i]! - mean[i]!) ** 2;
  }
  // A constant column (say, no streamed request in the traces) gets σ = 1, so its weight stays near zero.
  // "Constant" allows rounding noise in the mean: dividing by a σ of 1e-17 would blow its weight up.
  for (let i = 0; i < FEATURE_COUNT; i++) {
    const sigma = Math.sqrt(std[i]! / traces.length);
    std[i] = sigma > MIN_SIGMA ? sigma : 1;
  }
  return { mean, std };
}

function foldStandardisation(
  weights: Float64Array,
  bias: number,
  mean: Float64Array,
  std: Float64Array,
): LinearModel {
  const folded: number[] = [];
  let foldedBias = bias;
  for (let i = 0; i < FEATURE_COUNT; i++) {
    folded.push(weights[i]! / std[i]!);
    foldedBias -= (weights[i]! * mean[i]!) / std[i]!;
  }
  return { weights: folded, bias: foldedBias };
}
