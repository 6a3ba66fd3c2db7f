import { FEATURE_COUNT } from './features.ts';

/**
 * The reranker's model: logistic regression over FEATURE_SPEC, score = sigmoid(features · weights + bias),
 * the probability that a call to the miner gives a good answer. Standardisation is already folded in, so
 * it applies to raw feature vectors.
 *
 * Linear on purpose: with a dozen features and traces from one gateway, a hidden layer mostly learns noise,
 * and a linear model stays readable (each weight says what a feature is worth).
 */
export interface LinearModel {
  weights: readonly number[];
  bias: number;
}

/** The TypeScript forward pass: the reference the ONNX export is tested against, and the trainer's. */
export function scoreReference(model: LinearModel, features: Float32Array, rows: number): Float64Array {
  if (model.weights.length !== FEATURE_COUNT) throw new Error('model width does not match FEATURE_SPEC');
  const scores = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    let logit = model.bias;
    const offset = row * FEATURE_COUNT;
    for (let i = 0; i < FEATURE_COUNT; i++) logit += features[offset + i]! * model.weights[i]!;
    scores[row] = sigmoid(logit);
  }
  return scores;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
