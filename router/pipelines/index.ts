export {
  type CachePolicy,
  checkPipeline,
  MAX_STEPS,
  type ModelKindOf,
  type Pipeline,
  type PipelineCheck,
  type PipelineDefinition,
  type PipelineProblem,
  type PipelineStep,
  type StepKind,
} from './definition.ts';
export { PipelineStepFailed, StepTimeout } from './errors.ts';
export { loadPipelines, PIPELINE_MODEL_PREFIX } from './pipeline-file.ts';
export {
  type PipelineRequest,
  type PipelineRun,
  type PipelineRunOptions,
  type StepReport,
  type StepStatus,
  startPipeline,
} from './run-pipeline.ts';
export type { SegmentSplit } from './segments.ts';
export { stepKindsOf } from './step-kinds.ts';
export type { StepCall, StepCallOptions, StepEmbedding, StepModels } from './step-models.ts';
export type { StepOutput } from './step-output.ts';
