import type { Reranker } from './reranker.ts';
import type { TraceRecorder } from './trace-recorder.ts';

/** What the router's miner selection takes from the reranker; each part is optional on its own. */
export interface MinerRanking {
  /** Scores candidates; without it (or while it has no scores) selection uses blended weights alone. */
  reranker?: Reranker;
  /** Gets every finished attempt's features and outcome, as training data. */
  traces?: TraceRecorder;
}

export {
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SPEC,
  FEATURE_VERSION,
  type MinerFacts,
  type RequestFacts,
  type SubnetFacts,
  writeFeatures,
} from './features.ts';
export { type LinearModel, scoreReference } from './linear-model.ts';
export { createMinerRanking, type MinerRankingSettings } from './miner-ranking.ts';
export { INPUT_NAME, linearModelToOnnx, OUTPUT_NAME, writeOnnxModel } from './onnx-export.ts';
export { createReranker, type Reranker, type RerankerOptions } from './reranker.ts';
export { type SimulationOptions, simulateTraffic } from './simulated-traffic.ts';
export { createTraceRecorder, type TraceRecorder, type TraceRecorderOptions } from './trace-recorder.ts';
export {
  parseTraces,
  type Trace,
  type TrainOptions,
  type TrainResult,
  traceLine,
  trainLogistic,
} from './train.ts';
