import { UpstreamError } from '../adapters/index.ts';
import { meteredUsage } from '../billing/index.ts';
import {
  type PipelineRun,
  type PipelineStepFailed,
  type StepReport,
  StepTimeout,
} from '../router/pipelines/index.ts';
import { noteUsage } from '../telemetry/index.ts';
import { type HttpError, httpError, type OpenAIErrorBody, toHttpError } from './errors.ts';
import { type Usage, usageOf } from './response-shapes.ts';

/** One step as responses report it (`taogate.steps`): what answered, how long it took, what it cost. */
export interface StepSummary {
  id: string;
  /** The model that answered (the step's fallback when it stood in). */
  model: string;
  requested_model: string;
  /** The miner(s) that answered, comma-separated; null when none did (or the cache did). */
  miner: string | null;
  /** Since the pipeline started, and how long the step ran; null for steps that never started. */
  start_ms: number | null;
  ms: number | null;
  cached: boolean;
  status: StepReport['status'];
  attempts: number;
  hedged: boolean;
  fallback: boolean;
  /** Upstream calls the step made (more than one when it started on pieces of its input). */
  calls: number;
  /** The step's own usage (with its `cost_rao` when billed): a pipeline's is the sum of its steps'. */
  usage: BilledUsage;
  output?: string;
  error?: { message: string; code: string | null };
}

type BilledUsage = Usage & { cost_rao?: number };

const ZERO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export function stepSummaries(run: PipelineRun, withOutputs: boolean): StepSummary[] {
  return run.reports().map((report) => {
    const summary: StepSummary = {
      id: report.id,
      model: report.model,
      requested_model: report.requestedModel,
      miner: report.miners.length > 0 ? report.miners.join(',') : null,
      start_ms: roundMs(report.startMs),
      ms: roundMs(report.ms),
      cached: report.cached,
      status: report.status,
      attempts: report.attempts,
      hedged: report.hedged,
      fallback: report.fallback,
      calls: report.calls,
      usage: report.calls > 0 ? usageOf(report.promptText, report.output) : ZERO_USAGE,
    };
    if (withOutputs && (report.status === 'done' || report.output !== '')) summary.output = report.output;
    if (report.status === 'failed') {
      const { body } = stepFailureStatus(report.error);
      const message = report.error instanceof Error ? report.error.message : String(report.error);
      summary.error = { message, code: body.error.code };
    }
    return summary;
  });
}

/** The pipeline's usage: the sum of its steps' (and of their costs, when billed). */
export function pipelineUsage(steps: readonly StepSummary[]): BilledUsage {
  const usage: BilledUsage = { ...ZERO_USAGE };
  for (const step of steps) {
    usage.prompt_tokens += step.usage.prompt_tokens;
    usage.completion_tokens += step.usage.completion_tokens;
    usage.total_tokens += step.usage.total_tokens;
    if (step.usage.cost_rao !== undefined) usage.cost_rao = (usage.cost_rao ?? 0) + step.usage.cost_rao;
  }
  return usage;
}

/**
 * Accounts for the answered steps once the answer is complete: each goes to the billing meter (a no-op when
 * the ledger is off), so a pipeline is charged the sum of its steps, each at the price of the model that
 * answered it; their tokens go to the request's telemetry. A failed pipeline is not accounted, so not charged.
 */
export function accountSteps<Step extends StepSummary>(steps: readonly Step[]): Step[] {
  const billed = steps.map((step) =>
    step.calls > 0 ? { ...step, usage: meteredUsage(step.model, step.usage) } : step,
  );
  noteUsage(pipelineUsage(billed));
  return billed;
}

/**
 * `Server-Timing`: one metric per step that has finished (`step.<id>`, described by the model and miner
 * that answered), then `extra` (the whole pipeline, or the time to first byte of a stream).
 */
export function serverTiming(run: PipelineRun, extra: { name: string; ms: number }): string {
  const metrics = run
    .reports()
    .filter((report) => report.ms !== undefined && report.status !== 'running')
    .map((report) => {
      const description = [report.model, ...report.miners, ...(report.cached ? ['cached'] : [])].join(' ');
      return `step.${report.id};desc="${description}";dur=${report.ms!.toFixed(1)}`;
    });
  metrics.push(`${extra.name};dur=${extra.ms.toFixed(1)}`);
  return metrics.join(', ');
}

export interface PipelineHttpError extends Omit<HttpError, 'body'> {
  body: {
    error: OpenAIErrorBody['error'] & { taogate: { failed_step: string; steps: StepSummary[] } };
  };
}

/**
 * The error of a failed run: the failing step's status, named in the message, with the steps' reports in
 * `error.taogate` (inside the error object, where OpenAI's SDKs hand it to the caller as `err.error`).
 */
export function pipelineFailure(
  failure: PipelineStepFailed,
  run: PipelineRun,
  partialResults: boolean,
): PipelineHttpError {
  const status = stepFailureStatus(failure.cause);
  const { error } = httpError(
    status.status,
    failure.message,
    status.body.error.type,
    status.body.error.code,
  ).body;
  const taogate = { failed_step: failure.step, steps: stepSummaries(run, partialResults) };
  return { status: status.status, headers: status.headers, body: { error: { ...error, taogate } } };
}

/** How a step's failure reads over HTTP: the router's errors as for any request, plus the step's own. */
function stepFailureStatus(cause: unknown): HttpError {
  if (cause instanceof StepTimeout) return httpError(504, cause.message, 'timeout_error', cause.code);
  if (cause instanceof UpstreamError) {
    return httpError(502, `the miner failed mid-answer: ${cause.message}`, 'upstream_error', cause.code);
  }
  return toHttpError(cause);
}

function roundMs(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 10) / 10;
}
