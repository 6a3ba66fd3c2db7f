import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ChatRequest } from '../adapters/index.ts';
import {
  answeredFromMemory,
  type CachedRouted,
  cachePolicyOf,
  type GatewayCache,
  generationCacheKey,
  type PolicyResult,
  routeThroughCache,
  wholeTextOf,
} from '../cache/index.ts';
import type { ChatRouter, FannedOut, RoutableModel, RouteOptions } from '../router/index.ts';
import type { Pipeline } from '../router/pipelines/index.ts';
import { noteFanout, noteRequestedModel, noteUsage } from '../telemetry/index.ts';
import type { Drain } from './drain.ts';
import { invalidRequest, toHttpError } from './errors.ts';
import { type GenerationRequest, generationRequestReader } from './generation-request.ts';
import { fanoutOf, type generationFields } from './generation-schema.ts';
import { headerOf, type MemoryAnswerer } from './memory-front.ts';
import { modelFor } from './model-lookup.ts';
import { answerWithPipeline, isPipelineModel } from './pipeline-model-route.ts';
import { exceededLimit, type RequestLimits } from './request-limits.ts';
import { type ResponseShape, usageOf } from './response-shapes.ts';
import { wholeAnswerJson, writeAnswer } from './write-answer.ts';

export interface GenerationRouteDeps {
  catalog: ReadonlyMap<string, RoutableModel>;
  router: ChatRouter;
  deadlineMs: number;
  logger: Logger;
  /** Named pipelines, answered for the models `pipeline/<name>`. */
  pipelines?: ReadonlyMap<string, Pipeline>;
  requestLimits: RequestLimits;
  drain: Pick<Drain, 'cut' | 'signalFor'>;
  /** Response cache and coalescing; requests go straight upstream without it. */
  cache?: GatewayCache;
}

type GenerationBody = z.infer<z.ZodObject<typeof generationFields>>;

/** One OpenAI text-generation endpoint: its request schema, how that becomes a chat, and its response shape. */
export interface GenerationEndpoint<Body extends GenerationBody> {
  schema: z.ZodType<Body>;
  toChatRequest(body: Body): ChatRequest;
  shape: ResponseShape;
}

/** An endpoint's handler, and its answers from memory served ahead of Hono (memory-front.ts). */
export interface GenerationEndpointHandlers {
  handle(c: Context): Promise<Response>;
  answerFromMemory: MemoryAnswerer;
}

/**
 * Validates, routes (with fallback, or best-of-k fan-out) and answers a text-generation request. Headers
 * name the miner that answered (`x-taogate-miner`), attempts, hedging and any fallback model.
 */
export function generationEndpoint<Body extends GenerationBody>(
  deps: GenerationRouteDeps,
  endpoint: GenerationEndpoint<Body>,
): GenerationEndpointHandlers {
  const requests = generationRequestReader(endpoint.schema, endpoint.toChatRequest);

  const handle = async (c: Context): Promise<Response> => {
    c.header('x-taogate-cache', 'bypass');
    const read = await requests.read(c);
    if (!read.ok) return c.json(read.error.body, read.error.status);
    const { body, request, promptText } = read.value;
    if (isPipelineModel(body.model)) return answerWithPipeline(c, deps, body, endpoint);
    const found = modelFor(deps.catalog, body.model, 'chat');
    if (!found.ok) return c.json(found.error.body, found.error.status);
    const { model } = found;
    const fanout = fanoutOf(c.req.header('x-taogate-fanout'), body, deps.router.maxFanout);
    if (!fanout.ok) return c.json(fanout.error.body, fanout.error.status);
    const overLimit = exceededLimit(request, deps.requestLimits);
    if (overLimit) return c.json(overLimit.body, overLimit.status);
    const cachePolicy = cachePolicyOfRequest(
      body,
      request,
      c.req.header('x-taogate-cache'),
      c.req.header('cache-control'),
    );
    if (!cachePolicy.ok) {
      const error = invalidRequest(cachePolicy.message, cachePolicy.param, 'invalid_value');
      return c.json(error.body, error.status);
    }
    if (fanout.fanout > 1) {
      const options = { ...routeOptionsOf(c, deps, body), fanout: fanout.fanout };
      return answerFannedOut(c, deps, endpoint.shape, model, { request, promptText }, options);
    }

    if (deps.cache?.settings.enabled && cachePolicy.policy.use) {
      read.value.cacheKey ??= generationCacheKey(model, request);
      requests.remember(read.value);
    }
    const key = read.value.cacheKey;
    let routed = answeredFromMemory(deps.cache, cachePolicy.policy, {
      catalog: deps.catalog,
      model,
      request,
      key,
    });
    if (routed) deps.cache?.recordLookup(model.profile.netuid, routed.cache, routed.coalesced);
    else {
      try {
        routed = await routeThroughCache(deps.cache, cachePolicy.policy, {
          router: deps.router,
          catalog: deps.catalog,
          model,
          request,
          key,
          options: routeOptionsOf(c, deps, body),
        });
      } catch (error) {
        return routingFailed(c, deps, model, error);
      }
    }
    for (const [name, value] of Object.entries(routedHeaders(model, routed))) c.header(name, value);
    return writeAnswer(c, routed.text, {
      shape: endpoint.shape,
      model: routed.servedBy.id,
      promptText,
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
    });
  };

  // The same request and answer as `handle` gives for a body remembered for the cache, found without
  // reading it again: only whole answers (a stream is written by `handle`), and only where the request's
  // own headers would let `handle` answer from memory too.
  const answerFromMemory: MemoryAnswerer = (text, headers) => {
    const remembered = requests.recall(text);
    if (!remembered || remembered.body.stream === true) return undefined;
    const { body, request, promptText } = remembered;
    // Remembered only once the catalogue had the model, and its limits and fan-out were checked.
    const model = deps.catalog.get(body.model);
    if (!model) return undefined;
    const fanout = fanoutOf(headerOf(headers, 'x-taogate-fanout'), body, deps.router.maxFanout);
    if (!fanout.ok || fanout.fanout > 1) return undefined;
    const policy = cachePolicyOfRequest(
      body,
      request,
      headerOf(headers, 'x-taogate-cache'),
      headerOf(headers, 'cache-control'),
    );
    if (!policy.ok) return undefined;
    const target = { catalog: deps.catalog, model, request, key: remembered.cacheKey };
    const routed = answeredFromMemory(deps.cache, policy.policy, target);
    const whole = routed && wholeTextOf(routed.text);
    if (!routed || !whole) return undefined;
    return () => {
      noteRequestedModel(model.id, model.profile.netuid);
      deps.cache?.recordLookup(model.profile.netuid, routed.cache, routed.coalesced);
      const answered = { shape: endpoint.shape, model: routed.servedBy.id, promptText };
      return {
        headers: { 'content-type': 'application/json', ...routedHeaders(model, routed) },
        body: wholeAnswerJson(whole, answered),
        miner: minerName(routed.miner),
        servedBy: routed.servedBy === model ? undefined : routed.servedBy.id,
      };
    };
  };

  return { handle, answerFromMemory };
}

function cachePolicyOfRequest(
  body: GenerationBody,
  request: ChatRequest,
  header: string | undefined,
  cacheControl: string | undefined,
): PolicyResult {
  return cachePolicyOf({
    header,
    optIn: body.taogate?.cache,
    cacheControl,
    deterministic: request.temperature === 0,
  });
}

/** How a routed answer was served, in the headers clients and request telemetry read. */
function routedHeaders(model: RoutableModel, routed: CachedRouted): Record<string, string> {
  const headers: Record<string, string> = { 'x-taogate-cache': routed.cache };
  if (routed.coalesced) headers['x-taogate-coalesced'] = '1';
  if (routed.servedBy !== model) headers['x-taogate-fallback'] = routed.servedBy.id;
  headers['x-taogate-miner'] = minerName(routed.miner);
  headers['x-taogate-attempts'] = String(routed.attempts);
  if (routed.hedged) headers['x-taogate-hedged'] = '1';
  return headers;
}

/** How an upstream call for this request runs; built only when one is made (a cache hit needs none). */
function routeOptionsOf(c: Context, deps: GenerationRouteDeps, body: GenerationBody): RouteOptions {
  return {
    // Past the drain timeout on shutdown, upstream calls stop (and release what they hold) too.
    signal: deps.drain.signalFor(c),
    deadlineMs: deps.deadlineMs,
    whole: body.stream !== true,
  };
}

/** Best-of-k: several miners answer whole, the best answer is sent, and the headers say who was asked. */
async function answerFannedOut(
  c: Context,
  deps: GenerationRouteDeps,
  shape: ResponseShape,
  model: RoutableModel,
  { request, promptText }: Pick<GenerationRequest<unknown>, 'request' | 'promptText'>,
  options: RouteOptions & { fanout: number },
): Promise<Response> {
  noteFanout();
  let best: FannedOut;
  try {
    best = await deps.router.fanOut(model.profile, { ...request, model: model.model }, options);
  } catch (error) {
    return routingFailed(c, deps, model, error);
  }
  c.header('x-taogate-miner', minerName(best.winner));
  c.header('x-taogate-fanout-miners', best.queried.map(({ miner }) => minerName(miner)).join(','));
  c.header('x-taogate-fanout-verdicts', best.queried.map(({ verdict }) => verdict).join(','));
  const usage = usageOf(promptText, best.text);
  noteUsage(usage);
  return c.json(shape.complete(shape.newId(), model.id, best.text, usage));
}

/** No miner answered: the error's HTTP form, logged when it is the gateway's or the subnet's fault. */
function routingFailed(
  c: Context,
  deps: GenerationRouteDeps,
  model: RoutableModel,
  error: unknown,
): Response {
  const mapped = toHttpError(error);
  if (mapped.status >= 500) deps.logger.warn({ err: error, model: model.id }, 'generation request failed');
  return c.json(mapped.body, mapped.status, mapped.headers);
}

function minerName(miner: { netuid: number; uid: number }): string {
  return `sn${miner.netuid}/uid${miner.uid}`;
}
