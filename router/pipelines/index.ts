/** Pipelines: checked definitions of steps over several models, and the engine that runs them. */
export { type CachePolicy, checkPipeline, type Pipeline, type StepKind } from './definition.ts';
export { PipelineStepFailed, StepTimeout } from './errors.ts';
export { loadPipelines, PIPELINE_MODEL_PREFIX } from './pipeline-file.ts';
export { type PipelineRun, type StepReport, startPipeline } from './run-pipeline.ts';
export { stepKindsOf } from './step-kinds.ts';
export type { StepEmbedding, StepModels } from './step-models.ts';
export type { StepOutput } from './step-output.ts';
