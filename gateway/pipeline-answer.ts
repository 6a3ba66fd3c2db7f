import type { Context } from 'hono';
import type { Logger } from 'pino';
import { meterFailure } from '../billing/index.ts';
import type { PipelineRun, PipelineStepFailed } from '../router/pipelines/index.ts';
import { eventStream } from './event-stream.ts';
import {
  accountSteps,
  pipelineFailure,
  pipelineUsage,
  type StepSummary,
  serverTiming,
  stepSummaries,
} from './pipeline-report.ts';
import type { ResponseShape } from './response-shapes.ts';

export interface PipelineAnswerOptions {
  shape: ResponseShape;
  /** The model the body names: `pipeline/<name>`, or the pipeline's name on the run endpoint. */
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** Report each step's output (always on the run endpoint; on failure when the client asked). */
  withOutputs: boolean;
  partialResults: boolean;
  logger: Logger;
}

/**
 * Writes a pipeline's answer in an endpoint's shape, with `taogate.steps` beside it: whole once every step
 * has finished, or streaming the output step as it answers. A failure before the first byte is an HTTP
 * error naming the step; after it, an error event as OpenAI sends mid-stream.
 */
export async function writePipelineAnswer(
  c: Context,
  run: PipelineRun,
  options: PipelineAnswerOptions,
): Promise<Response> {
  const { shape, model } = options;
  if (!options.stream) {
    const failure = await run.finished;
    if (failure) return pipelineFailed(c, run, failure, options);
    const steps = accountSteps(stepSummaries(run, options.withOutputs));
    c.header('server-timing', serverTiming(run, { name: 'pipeline', ms: run.elapsedMs() }));
    reportCache(c, steps);
    const answer = shape.complete(shape.newId(), model, run.output.text, pipelineUsage(steps)) as object;
    return c.json({ ...answer, taogate: { steps } });
  }

  const reader = run.output.stream()[Symbol.asyncIterator]();
  let first: IteratorResult<string>;
  try {
    first = await reader.next();
  } catch {
    return pipelineFailed(c, run, (await run.finished)!, options);
  }
  c.header('server-timing', serverTiming(run, { name: 'ttfb', ms: run.elapsedMs() }));
  reportCache(c, undefined);
  return eventStream(c, async (events) => {
    const id = shape.newId();
    const created = Math.floor(Date.now() / 1000);
    const send = (data: unknown) => events.send(JSON.stringify(data));
    const opening = shape.opening(id, model, created);
    if (opening !== undefined) await send(opening);
    try {
      for (let next = first; !next.done; next = await reader.next()) {
        if (events.aborted) break;
        await send(shape.delta(id, model, created, next.value));
      }
    } catch {
      // The run's failure is reported below, once every step has stopped.
    }
    const failure = await run.finished;
    // A client that left is charged for the steps that answered before it did, as a direct stream is.
    if (events.aborted) return void accountSteps(stepSummaries(run, false));
    if (failure) {
      meterFailure();
      await send(pipelineFailure(failure, run, options.partialResults).body);
      return;
    }
    const steps = accountSteps(stepSummaries(run, options.withOutputs));
    await send({ ...(shape.closing(id, model, created) as object), taogate: { steps } });
    if (options.includeUsage) await send(shape.usage(id, model, created, pipelineUsage(steps)));
    await events.send('[DONE]');
  });
}

/**
 * `x-taogate-cache: hit` when every step was answered from the cache; otherwise none, since a pipeline is
 * not one lookup (`taogate.steps[].cached` says which steps were). Unknown yet when a stream starts.
 */
export function reportCache(c: Context, steps: readonly StepSummary[] | undefined): void {
  c.header('x-taogate-cache', steps?.every((step) => step.cached) ? 'hit' : undefined);
}

/** A failed run as an HTTP error naming the step (logged when it is the gateway's or a subnet's fault). */
export function pipelineFailed(
  c: Context,
  run: PipelineRun,
  failure: PipelineStepFailed,
  options: Pick<PipelineAnswerOptions, 'partialResults' | 'logger' | 'model'>,
): Response {
  const error = pipelineFailure(failure, run, options.partialResults);
  if (error.status >= 500) {
    options.logger.warn({ err: failure.cause, step: failure.step, model: options.model }, 'pipeline failed');
  }
  c.header('server-timing', serverTiming(run, { name: 'pipeline', ms: run.elapsedMs() }));
  return c.json(error.body, error.status, error.headers);
}

export type VectorRun =
  | { ok: true; vector: number[]; steps: StepSummary[] }
  | { ok: false; failure: PipelineStepFailed };

/** A run whose output step embeds, once every step has finished: the vector (vectors do not stream). */
export async function vectorOf(run: PipelineRun, withOutputs: boolean): Promise<VectorRun> {
  const failure = await run.finished;
  if (failure) return { ok: false, failure };
  const steps = stepSummaries(run, withOutputs);
  const vector = run.reports().find((report) => report.id === run.pipeline.output)!.embedding!;
  return { ok: true, vector, steps };
}
