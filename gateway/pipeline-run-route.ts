import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import { checkPipeline, type Pipeline, startPipeline, stepKindsOf } from '../router/pipelines/index.ts';
import { type HttpError, httpError, invalidRequest } from './errors.ts';
import { generationFields } from './generation-schema.ts';
import { pipelineFailed, reportCache, vectorOf, writePipelineAnswer } from './pipeline-answer.ts';
import {
  type PipelineModelRouteDeps,
  partialResultsAsked,
  pipelineOverLimit,
  pipelineSignal,
} from './pipeline-model-route.ts';
import { accountSteps, pipelineUsage, serverTiming } from './pipeline-report.ts';
import { requestCacheChoice, routedStepModels } from './pipeline-step-models.ts';
import { parseJsonBody } from './request-body.ts';
import type { ResponseShape } from './response-shapes.ts';

/** POST /v1/pipelines/run: a named pipeline, or one defined in the request, run on `input`. */
const runRequest = z.object({
  /** A pipeline's name from the gateway's pipelines file, or a whole definition. */
  pipeline: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  input: z.string(),
  stream: generationFields.stream,
  stream_options: generationFields.stream_options,
  /** On failure, report the outputs of the steps that completed. */
  partial_results: z.boolean().nullish(),
  /** Opt the steps whose cache mode is `auto` in to (or out of) the cache, like `x-taogate-cache: on|off`. */
  cache: z.boolean().nullish(),
  temperature: generationFields.temperature,
  top_p: generationFields.top_p,
  max_tokens: generationFields.max_tokens,
  seed: generationFields.seed,
});

/** Inline pipelines have no name; responses call them this. */
const INLINE = 'inline';

const now = () => Math.floor(Date.now() / 1000);

/** The run endpoint's own answer: the output, and (beside it, in `taogate.steps`) every step's output. */
export const pipelineRunShape: ResponseShape = {
  newId: () => `pipe-${randomUUID().replaceAll('-', '')}`,
  complete: (id, pipeline, output, usage) => ({
    id,
    object: 'pipeline.run',
    created: now(),
    pipeline,
    output,
    usage,
  }),
  opening: () => undefined,
  delta: (id, pipeline, created, delta) => ({ id, object: 'pipeline.run.delta', created, pipeline, delta }),
  closing: (id, pipeline, created) => ({ id, object: 'pipeline.run.completed', created, pipeline }),
  usage: (id, pipeline, created, usage) => ({ id, object: 'pipeline.run.usage', created, pipeline, usage }),
};

export function pipelineRunHandler(deps: PipelineModelRouteDeps) {
  return async (c: Context) => {
    const parsed = await parseJsonBody(c, runRequest);
    if (!parsed.ok) return c.json(parsed.error.body, parsed.error.status);
    const body = parsed.value;
    const resolved = resolvePipeline(deps, body.pipeline);
    if (!resolved.ok) return c.json(resolved.error.body, resolved.error.status);
    const embeds = resolved.pipeline.outputKind === 'embeddings';
    if (embeds && body.stream) {
      const message = `the output step '${resolved.pipeline.output}' answers a vector, which does not stream`;
      const error = invalidRequest(message, 'stream', 'invalid_value');
      return c.json(error.body, error.status);
    }
    const { temperature, top_p, max_tokens, seed } = body;
    const sampling = Object.fromEntries(
      Object.entries({ temperature, top_p, max_tokens, seed }).filter(([, value]) => value != null),
    );
    const overLimit = pipelineOverLimit(deps, resolved.pipeline, { messages: [], ...sampling });
    if (overLimit) return c.json(overLimit.body, overLimit.status);
    const cache = requestCacheChoice(c, body.cache);
    if (!cache.ok) return c.json(cache.error.body, cache.error.status);
    const stream = body.stream === true;
    const run = startPipeline(
      resolved.pipeline,
      { input: body.input, sampling },
      {
        models: routedStepModels(deps, cache.choice),
        signal: pipelineSignal(c, deps),
        deadlineMs: deps.deadlineMs,
        streamOutput: stream,
      },
    );
    const name = resolved.pipeline.name ?? INLINE;
    const partialResults = partialResultsAsked(c, body);
    if (embeds) {
      const answered = await vectorOf(run, true);
      if (!answered.ok)
        return pipelineFailed(c, run, answered.failure, { partialResults, logger: deps.logger, model: name });
      c.header('server-timing', serverTiming(run, { name: 'pipeline', ms: run.elapsedMs() }));
      const steps = accountSteps(answered.steps);
      reportCache(c, steps);
      const usage = pipelineUsage(steps);
      const { vector } = answered;
      const id = pipelineRunShape.newId();
      return c.json({
        id,
        object: 'pipeline.run',
        created: now(),
        pipeline: name,
        output: vector,
        usage,
        taogate: { steps },
      });
    }
    return writePipelineAnswer(c, run, {
      shape: pipelineRunShape,
      model: name,
      stream,
      includeUsage: body.stream_options?.include_usage === true,
      withOutputs: true,
      partialResults,
      logger: deps.logger,
    });
  };
}

type Resolved = { ok: true; pipeline: Pipeline } | { ok: false; error: HttpError };

/** A named pipeline, or an inline definition checked completely: a fault is a 400 naming the step. */
function resolvePipeline(deps: PipelineModelRouteDeps, pipeline: string | Record<string, unknown>): Resolved {
  if (typeof pipeline === 'string') {
    const named = deps.pipelines?.get(pipeline);
    if (named) return { ok: true, pipeline: named };
    const message = `The pipeline '${pipeline}' does not exist`;
    return {
      ok: false,
      error: httpError(404, message, 'invalid_request_error', 'pipeline_not_found', 'pipeline'),
    };
  }
  const checked = checkPipeline(pipeline, stepKindsOf(deps.catalog));
  if (checked.ok) return checked;
  const { step, path, message } = checked.problem;
  const field = path.join('.');
  const where =
    step === undefined ? (field ? `field ${field}` : 'the definition') : `step '${step}' (${field})`;
  const param = field ? `pipeline.${field}` : 'pipeline';
  return {
    ok: false,
    error: invalidRequest(`Invalid pipeline: ${where}: ${message}`, param, 'invalid_pipeline'),
  };
}
