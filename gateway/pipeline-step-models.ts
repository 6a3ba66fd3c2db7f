import type { ChatRouter, RoutableModel } from '../router/index.ts';
import { ModelNotFound, routeWithFallback } from '../router/index.ts';
import type { ModelKindOf, StepModels } from '../router/pipelines/index.ts';

export interface StepModelDeps {
  router: ChatRouter;
  catalog: ReadonlyMap<string, RoutableModel>;
}

/** Steps call models through the gateway's one router, with the subnets' own fallbacks, like any request. */
export function routedStepModels(deps: StepModelDeps): StepModels {
  return {
    async chat(id, request, options) {
      const model = deps.catalog.get(id);
      if (!model) throw new ModelNotFound(id);
      const routed = await routeWithFallback(deps.router, deps.catalog, model, request, {
        signal: options.signal,
        deadlineMs: options.deadlineMs,
      });
      return {
        servedBy: routed.servedBy.id,
        miner: `sn${routed.miner.netuid}/uid${routed.miner.uid}`,
        attempts: routed.attempts,
        hedged: routed.hedged,
        cached: false,
        text: routed.text,
      };
    },
  };
}

/** Which catalogue models a step may call, and as what kind of step. */
export function stepKindsOf(catalog: ReadonlyMap<string, RoutableModel>): ModelKindOf {
  return (id) => (catalog.has(id) ? 'chat' : undefined);
}
