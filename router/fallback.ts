import type { ChatRequest } from '../adapters/index.ts';
import type { RoutableModel } from './catalog.ts';
import { DeadlineExceeded, MinersAtCapacity, NoHealthyMiner, UpstreamExhausted } from './errors.ts';
import type { ChatRouter, Routed, RouteOptions } from './route-chat.ts';

export interface RoutedWithFallback extends Routed {
  /** The model that answered: the one asked for, or the fallback that stood in for it. */
  servedBy: RoutableModel;
}

/**
 * Routes to the model's subnet and, when that subnet cannot answer at all (no miner, all failed, all busy),
 * to its profile's fallback models in order, each within what is left of the request's deadline. A passed
 * deadline or a gone client ends the search: a fallback would only answer nobody, later.
 */
export async function routeWithFallback(
  router: ChatRouter,
  catalog: ReadonlyMap<string, RoutableModel>,
  model: RoutableModel,
  request: ChatRequest,
  options: RouteOptions,
): Promise<RoutedWithFallback> {
  const started = performance.now();
  const chain = [model, ...model.profile.fallback.flatMap((id) => catalog.get(id) ?? [])];
  let lastError: unknown;
  for (const candidate of chain) {
    const deadlineMs = options.deadlineMs - (performance.now() - started);
    if (deadlineMs <= 0 || options.signal.aborted) break;
    try {
      const routed = await router.route(candidate.profile, request, { ...options, deadlineMs });
      return { ...routed, servedBy: candidate };
    } catch (error) {
      if (!isSubnetExhausted(error)) throw error;
      lastError = error;
    }
  }
  throw lastError ?? new DeadlineExceeded(options.deadlineMs);
}

function isSubnetExhausted(error: unknown): boolean {
  return (
    error instanceof NoHealthyMiner || error instanceof UpstreamExhausted || error instanceof MinersAtCapacity
  );
}
