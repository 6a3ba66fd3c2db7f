import type { Context } from 'hono';
import type { Logger } from 'pino';
import { cachePolicyOf, embedThroughCache, type GatewayCache } from '../cache/index.ts';
import type { ChatRouter, RoutableModel } from '../router/index.ts';
import type { Pipeline } from '../router/pipelines/index.ts';
import { noteUsage } from '../telemetry/index.ts';
import { embeddingBatchSender, embedInBatches } from './embed-texts.ts';
import { base64Vector, embeddingsRequest } from './embeddings-schema.ts';
import { type HttpError, invalidRequest, toHttpError } from './errors.ts';
import { type ModelOf, modelFor } from './model-lookup.ts';
import { answerEmbeddingsWithPipeline } from './pipeline-embeddings-route.ts';
import { isPipelineModel } from './pipeline-model-route.ts';
import { parseJsonBody } from './request-body.ts';
import { estimateTokens } from './response-shapes.ts';

export interface EmbeddingsRouteDeps {
  catalog: ReadonlyMap<string, RoutableModel>;
  router: ChatRouter;
  deadlineMs: number;
  logger: Logger;
  /** Named pipelines, answered for the models `pipeline/<name>` whose output step embeds. */
  pipelines?: ReadonlyMap<string, Pipeline>;
  /** Vectors cached per text, identical texts in flight shared, texts of concurrent callers batched. */
  cache?: GatewayCache;
}

/**
 * POST /v1/embeddings: the inputs are split into batches the subnet takes in one call (`maxBatchInputs`),
 * each routed like any request, and the vectors returned in order as floats or base64 float32s. Headers name
 * the (first) miner that answered and the number of upstream calls.
 */
export function embeddingsHandler(deps: EmbeddingsRouteDeps) {
  return async (c: Context) => {
    c.header('x-taogate-cache', 'bypass');
    const parsed = await parseJsonBody(c, embeddingsRequest);
    if (!parsed.ok) return c.json(parsed.error.body, parsed.error.status);
    const body = parsed.value;
    if (isPipelineModel(body.model)) return answerEmbeddingsWithPipeline(c, deps, body);
    const found = modelFor(deps.catalog, body.model, 'embeddings');
    if (!found.ok) return c.json(found.error.body, found.error.status);
    const { model } = found;
    const shape = model.profile.embeddings;
    const dimensions = upstreamDimensions(model, body.dimensions);
    if (!dimensions.ok) return c.json(dimensions.error.body, dimensions.error.status);
    const cachePolicy = cachePolicyOf({
      header: c.req.header('x-taogate-cache'),
      optIn: undefined,
      cacheControl: c.req.header('cache-control'),
      deterministic: true,
    });
    if (!cachePolicy.ok) {
      const error = invalidRequest(cachePolicy.message, cachePolicy.param, 'invalid_value');
      return c.json(error.body, error.status);
    }

    const send = embeddingBatchSender(deps.router, deps.catalog, model, dimensions.value, deps.deadlineMs);
    let batches: Awaited<ReturnType<typeof embedInBatches>>;
    try {
      if (deps.cache) {
        const call = { model, dimensions: dimensions.value, send };
        const embedded = await embedThroughCache(
          deps.cache,
          cachePolicy.policy,
          call,
          body.input,
          c.req.raw.signal,
        );
        c.header('x-taogate-cache', embedded.cache);
        if (embedded.coalesced) c.header('x-taogate-coalesced', '1');
        if (embedded.upstreamCalls > 1) c.header('x-taogate-batches', String(embedded.upstreamCalls));
        batches = [embedded.batch];
      } else batches = await embedInBatches(send, body.input, shape.maxBatchInputs, c.req.raw.signal);
    } catch (error) {
      const mapped = toHttpError(error);
      if (mapped.status >= 500)
        deps.logger.warn({ err: error, model: model.id }, 'embeddings request failed');
      return c.json(mapped.body, mapped.status, mapped.headers);
    }
    const first = batches[0]!.source;
    c.header('x-taogate-miner', `sn${first.miner.netuid}/uid${first.miner.uid}`);
    c.header('x-taogate-attempts', String(batches.reduce((sum, batch) => sum + batch.source.attempts, 0)));
    if (batches.length > 1) c.header('x-taogate-batches', String(batches.length));

    const vectors = batches.flatMap((batch) => batch.vectors);
    const counted = batches.every((batch) => batch.promptTokens !== undefined);
    const promptTokens = counted
      ? batches.reduce((sum, batch) => sum + batch.promptTokens!, 0)
      : body.input.reduce((sum, input) => sum + estimateTokens(input), 0);
    noteUsage({ prompt_tokens: promptTokens });
    return c.json({
      object: 'list',
      data: vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: body.encoding_format === 'base64' ? base64Vector(vector) : vector,
      })),
      model: model.id,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  };
}

/**
 * What to ask the subnet for: nothing (its own length) when the request names none or its own, a shorter
 * length only where the profile says the subnet honours one (Matryoshka models).
 */
function upstreamDimensions(
  model: ModelOf<'embeddings'>,
  requested: number | undefined,
): { ok: true; value: number | undefined } | { ok: false; error: HttpError } {
  const { dimensions: own, variableDimensions } = model.profile.embeddings;
  if (requested === undefined || requested === own) return { ok: true, value: undefined };
  if (variableDimensions && requested < own) return { ok: true, value: requested };
  const message = `${model.id} returns ${variableDimensions ? 'at most' : 'only'} ${own} dimensions`;
  return { ok: false, error: invalidRequest(message, 'dimensions', 'invalid_value') };
}
