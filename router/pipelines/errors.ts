/** A step did not finish within its `timeout_ms` (its fallback, if any, gets a timeout of its own). */
export class StepTimeout extends Error {
  readonly code = 'step_timeout';
  constructor(step: string, ms: number) {
    super(`step '${step}' did not finish within its timeout of ${Math.round(ms)} ms`);
    this.name = 'StepTimeout';
  }
}

/** A step failed (after its fallback, if it has one): names the step and carries why. */
export class PipelineStepFailed extends Error {
  readonly code = 'pipeline_step_failed';
  readonly step: string;
  readonly model: string;
  override readonly cause: unknown;
  constructor(step: string, model: string, cause: unknown) {
    super(
      `Pipeline step '${step}' (${model}) failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'PipelineStepFailed';
    this.step = step;
    this.model = model;
    this.cause = cause;
  }
}
