import { type GatewayCache, routeThroughCache, stepCachePolicy } from '../cache/index.ts';
import type { ChatRouter, RoutableModel } from '../router/index.ts';
import { ModelNotFound } from '../router/index.ts';
import type { ModelKindOf, StepModels } from '../router/pipelines/index.ts';

export interface StepModelDeps {
  router: ChatRouter;
  catalog: ReadonlyMap<string, RoutableModel>;
  /** Steps share the response cache, and coalescing, with direct requests. */
  cache?: GatewayCache;
}

/** Steps call models through the gateway's one router, with the subnets' own fallbacks, like any request. */
export function routedStepModels(deps: StepModelDeps): StepModels {
  return {
    async chat(id, request, options) {
      const model = deps.catalog.get(id);
      if (!model) throw new ModelNotFound(id);
      const routed = await routeThroughCache(
        deps.cache,
        stepCachePolicy(options.cache, request.temperature === 0),
        {
          router: deps.router,
          catalog: deps.catalog,
          model,
          request,
          options: { signal: options.signal, deadlineMs: options.deadlineMs },
        },
      );
      const cached = routed.cache === 'hit';
      return {
        servedBy: routed.servedBy.id,
        miner: cached ? undefined : `sn${routed.miner.netuid}/uid${routed.miner.uid}`,
        attempts: routed.attempts,
        hedged: routed.hedged,
        cached,
        text: routed.text,
      };
    },
  };
}

/** Which catalogue models a step may call, and as what kind of step. */
export function stepKindsOf(catalog: ReadonlyMap<string, RoutableModel>): ModelKindOf {
  return (id) => (catalog.has(id) ? 'chat' : undefined);
}
