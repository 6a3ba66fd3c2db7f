import type { Context } from 'hono';
import {
  type CachePolicy,
  cachePolicyOf,
  type EmbeddedBatch,
  embedThroughCache,
  type GatewayCache,
  routeThroughCache,
  stepCachePolicy,
} from '../cache/index.ts';
import type { ChatRouter, RoutableModel } from '../router/index.ts';
import { ModelNotFound } from '../router/index.ts';
import type { CachePolicy as StepCacheMode, StepEmbedding, StepModels } from '../router/pipelines/index.ts';
import { embeddingBatchSender } from './embed-texts.ts';
import { type HttpError, invalidRequest } from './errors.ts';

export interface StepModelDeps {
  router: ChatRouter;
  catalog: ReadonlyMap<string, RoutableModel>;
  /** Response cache and coalescing; steps go straight upstream without it. */
  cache?: GatewayCache;
}

/** What the request says about the cache, which its steps' `auto` mode follows. */
export interface RequestCacheChoice {
  header: string | undefined;
  optIn: boolean | null | undefined;
  cacheControl: string | undefined;
}

/**
 * Steps call models through the gateway's one router, behind its cache, with the subnets' own fallbacks,
 * like any request: warm connections, hedging, breakers, caching and coalescing apply to every step.
 */
export function routedStepModels(deps: StepModelDeps, choice: RequestCacheChoice): StepModels {
  return {
    async chat(id, request, options) {
      const model = deps.catalog.get(id);
      if (!model) throw new ModelNotFound(id);
      const routed = await routeThroughCache(
        deps.cache,
        stepPolicy(options.cache, choice, request.temperature === 0),
        {
          router: deps.router,
          catalog: deps.catalog,
          model,
          request,
          options: { signal: options.signal, deadlineMs: options.deadlineMs, whole: options.whole },
        },
      );
      return {
        servedBy: routed.servedBy.id,
        miner: routed.cache === 'hit' ? undefined : `sn${routed.miner.netuid}/uid${routed.miner.uid}`,
        attempts: routed.attempts,
        hedged: routed.hedged,
        cached: routed.cache === 'hit',
        text: routed.text,
      };
    },

    async embed(id, text, options) {
      const model = deps.catalog.get(id);
      if (!model) throw new ModelNotFound(id);
      const send = embeddingBatchSender(deps.router, deps.catalog, model, undefined, options.deadlineMs);
      if (!deps.cache) return stepEmbedding(await send([text], options.signal), false);
      // Embeddings are deterministic: `auto` caches them, as it would a direct request.
      const policy = stepPolicy(options.cache, choice, true);
      const call = { model, dimensions: undefined, send };
      const embedded = await embedThroughCache(deps.cache, policy, call, [text], options.signal);
      return stepEmbedding(embedded.batch, embedded.cache === 'hit');
    },
  };
}

function stepEmbedding(batch: EmbeddedBatch, cached: boolean): StepEmbedding {
  const { servedBy, miner, attempts } = batch.source;
  return {
    servedBy,
    miner: cached ? undefined : `sn${miner.netuid}/uid${miner.uid}`,
    attempts: cached ? 0 : attempts,
    cached,
    vector: batch.vectors[0]!,
  };
}

/**
 * A step's cache policy: `auto` decides as a direct request would (the request's `x-taogate-cache`,
 * `taogate.cache` and Cache-Control, else cached when deterministic); `on`, `off` and `refresh` are the
 * pipeline author's, except that a request sent with `Cache-Control: no-store` keeps every step out.
 */
function stepPolicy(mode: StepCacheMode, choice: RequestCacheChoice, deterministic: boolean): CachePolicy {
  if (mode === 'auto') {
    const policy = cachePolicyOf({ ...choice, deterministic });
    return policy.ok ? policy.policy : { use: false };
  }
  const storable = cachePolicyOf({
    header: undefined,
    optIn: true,
    cacheControl: choice.cacheControl,
    deterministic,
  });
  return storable.ok && !storable.policy.use ? storable.policy : stepCachePolicy(mode, deterministic);
}

/** The request's cache choice, or a 400 when `x-taogate-cache` is not on or off. */
export function requestCacheChoice(
  c: Context,
  optIn: boolean | null | undefined,
): { ok: true; choice: RequestCacheChoice } | { ok: false; error: HttpError } {
  const choice = {
    header: c.req.header('x-taogate-cache'),
    optIn,
    cacheControl: c.req.header('cache-control'),
  };
  const checked = cachePolicyOf({ ...choice, deterministic: false });
  if (!checked.ok)
    return { ok: false, error: invalidRequest(checked.message, checked.param, 'invalid_value') };
  return { ok: true, choice };
}
