import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ChatRequest } from '../adapters/index.ts';
import { ModelNotFound } from '../router/index.ts';
import {
  PIPELINE_MODEL_PREFIX,
  type Pipeline,
  type StepKind,
  startPipeline,
} from '../router/pipelines/index.ts';
import type { Drain } from './drain.ts';
import { type HttpError, httpError, invalidRequest, toHttpError } from './errors.ts';
import type { generationFields } from './generation-schema.ts';
import { writePipelineAnswer } from './pipeline-answer.ts';
import { requestCacheChoice, routedStepModels, type StepModelDeps } from './pipeline-step-models.ts';
import { exceededLimit, type RequestLimits } from './request-limits.ts';
import type { ResponseShape } from './response-shapes.ts';

export interface PipelineModelRouteDeps extends StepModelDeps {
  /** Named pipelines from the pipelines file; none when unset. */
  pipelines?: ReadonlyMap<string, Pipeline>;
  deadlineMs: number;
  logger: Logger;
  /** On shutdown, aborts what is still running past the drain time. */
  drain?: Pick<Drain, 'cut'>;
  /** What one request may ask for (TAOGATE_MAX_MESSAGES, TAOGATE_MAX_OUTPUT_TOKENS), its steps included. */
  requestLimits?: RequestLimits;
}

type GenerationBody = z.infer<z.ZodObject<typeof generationFields>>;

export function isPipelineModel(model: string): boolean {
  return model.startsWith(PIPELINE_MODEL_PREFIX);
}

/**
 * A chat or text completion whose model is `pipeline/<name>`: the last user message is the pipeline's
 * `{{input}}`, the request's sampling applies to steps that set none, and the answer is the output step's,
 * in the endpoint's own shape, so the plain OpenAI SDK can call a pipeline like any model.
 */
export function answerWithPipeline<Body extends GenerationBody>(
  c: Context,
  deps: PipelineModelRouteDeps,
  body: Body,
  endpoint: { toChatRequest(body: Body): ChatRequest; shape: ResponseShape },
): Promise<Response> | Response {
  const found = pipelineFor(deps, body.model, 'chat');
  if ('error' in found) return c.json(found.error.body, found.error.status);
  const { pipeline } = found;
  const fanout = c.req.header('x-taogate-fanout') ?? body.taogate?.fanout;
  if (fanout !== undefined && Number(fanout) !== 1) {
    const error = invalidRequest('fan-out is not available for pipelines', 'taogate.fanout', 'invalid_value');
    return c.json(error.body, error.status);
  }
  const request = endpoint.toChatRequest(body);
  const overLimit = pipelineOverLimit(deps, pipeline, request);
  if (overLimit) return c.json(overLimit.body, overLimit.status);
  const { messages, ...sampling } = request;
  const input = messages.findLast((message) => message.role === 'user')?.content;
  if (input === undefined) {
    const error = invalidRequest("a pipeline's input is the last user message: there is none", 'messages');
    return c.json(error.body, error.status);
  }
  const cache = requestCacheChoice(c, body.taogate?.cache);
  if (!cache.ok) return c.json(cache.error.body, cache.error.status);
  const stream = body.stream === true;
  const run = startPipeline(
    pipeline,
    { input, sampling },
    {
      models: routedStepModels(deps, cache.choice),
      signal: pipelineSignal(c, deps),
      deadlineMs: deps.deadlineMs,
      streamOutput: stream,
    },
  );
  return writePipelineAnswer(c, run, {
    shape: endpoint.shape,
    model: body.model,
    stream,
    includeUsage: body.stream_options?.include_usage === true,
    withOutputs: false,
    partialResults: partialResultsAsked(c, body.taogate),
    logger: deps.logger,
  });
}

/**
 * The pipeline a `pipeline/<name>` model names, or its error: 404 for an unknown name, 400 when called on an
 * endpoint other than the one its output step's answer fits.
 */
export function pipelineFor(
  deps: Pick<PipelineModelRouteDeps, 'pipelines'>,
  model: string,
  endpoint: StepKind,
): { pipeline: Pipeline } | { error: HttpError } {
  const pipeline = deps.pipelines?.get(model.slice(PIPELINE_MODEL_PREFIX.length));
  if (!pipeline) return { error: toHttpError(new ModelNotFound(model)) };
  if (pipeline.outputKind === endpoint) return { pipeline };
  const message = `The model '${model}' answers ${pipeline.outputKind}, not ${endpoint}: see GET /v1/models`;
  return { error: httpError(400, message, 'invalid_request_error', 'model_task_mismatch', 'model') };
}

/** A 400 when the request, or a step's own sampling, asks for more than the gateway allows. */
export function pipelineOverLimit(
  deps: PipelineModelRouteDeps,
  pipeline: Pipeline,
  request: ChatRequest,
): HttpError | undefined {
  if (!deps.requestLimits) return undefined;
  const limits = deps.requestLimits;
  const overLimit = exceededLimit(request, limits);
  if (overLimit) return overLimit;
  for (const step of pipeline.steps) {
    const stepOver = exceededLimit({ messages: [], ...step.sampling }, limits);
    if (stepOver) {
      const message = `Pipeline step '${step.id}': ${stepOver.body.error.message}`;
      return invalidRequest(message, `steps.${step.id}.max_tokens`, stepOver.body.error.code);
    }
  }
  return undefined;
}

/** Steps stop when the client leaves, or when a shutdown's drain time is up. */
export function pipelineSignal(c: Context, deps: PipelineModelRouteDeps): AbortSignal {
  return deps.drain ? AbortSignal.any([c.req.raw.signal, deps.drain.cut]) : c.req.raw.signal;
}

/**
 * Whether the client wants completed steps' outputs when the pipeline fails: `x-taogate-partial-results: 1`
 * or `"taogate": {"partial_results": true}`.
 */
export function partialResultsAsked(
  c: Context,
  options: { partial_results?: boolean | null | undefined } | null | undefined,
): boolean {
  const header = c.req.header('x-taogate-partial-results')?.trim().toLowerCase();
  if (header !== undefined) return header === '1' || header === 'true' || header === 'on';
  return options?.partial_results === true;
}

/** A named pipeline as `/v1/models` lists it: OpenAI's model object, plus what it is made of. */
export function pipelineModelEntry(name: string, pipeline: Pipeline) {
  return {
    id: `${PIPELINE_MODEL_PREFIX}${name}`,
    object: 'model' as const,
    created: 0,
    owned_by: 'taogate-pipeline',
    /** The endpoint that serves it, as for subnet models: what its output step answers. */
    task: pipeline.outputKind,
    kind: 'pipeline' as const,
    description: pipeline.description ?? null,
    steps: pipeline.steps.map((step) => ({ id: step.id, model: step.model })),
  };
}

/** Every named pipeline as a model entry. */
export function pipelineModelEntries(pipelines: ReadonlyMap<string, Pipeline> | undefined) {
  return [...(pipelines ?? [])].map(([name, pipeline]) => pipelineModelEntry(name, pipeline));
}
