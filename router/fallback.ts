import type { ChatRequest, Task, TaskAnswers, TaskRequests } from '../adapters/index.ts';
import type { RoutableModel } from './catalog.ts';
import { DeadlineExceeded, MinersAtCapacity, NoHealthyMiner, UpstreamExhausted } from './errors.ts';
import type { ChatRouter, Routed, RoutedAnswer, RouteOptions } from './route-chat.ts';

export interface RoutedWithFallback extends Routed {
  /** The model that answered: the one asked for, or the fallback that stood in for it. */
  servedBy: RoutableModel;
}

export type RoutedTaskWithFallback<T extends Exclude<Task, 'chat'>> = RoutedAnswer<TaskAnswers[T]> & {
  servedBy: RoutableModel;
};

/**
 * Routes to the model's subnet and, when that subnet cannot answer at all (no miner, all failed, all busy),
 * to its profile's fallback models in order, each within what is left of the request's deadline. A passed
 * deadline or a gone client ends the search: a fallback would only answer nobody, later.
 */
export function routeWithFallback(
  router: ChatRouter,
  catalog: ReadonlyMap<string, RoutableModel>,
  model: RoutableModel,
  request: ChatRequest,
  options: RouteOptions,
): Promise<RoutedWithFallback> {
  return withFallback(catalog, model, options, (candidate, remaining) =>
    router.route(candidate.profile, { ...request, model: candidate.model }, remaining),
  );
}

/** routeWithFallback for the tasks whose answers come whole (embeddings, images). */
export function routeTaskWithFallback<T extends Exclude<Task, 'chat'>>(
  router: ChatRouter,
  catalog: ReadonlyMap<string, RoutableModel>,
  task: T,
  model: RoutableModel,
  request: TaskRequests[T],
  options: RouteOptions,
): Promise<RoutedTaskWithFallback<T>> {
  return withFallback(catalog, model, options, (candidate, remaining) =>
    router.routeTask(task, candidate.profile, { ...request, model: candidate.model }, remaining),
  );
}

async function withFallback<R>(
  catalog: ReadonlyMap<string, RoutableModel>,
  model: RoutableModel,
  options: RouteOptions,
  route: (candidate: RoutableModel, options: RouteOptions) => Promise<R>,
): Promise<R & { servedBy: RoutableModel }> {
  const started = performance.now();
  const chain = [model, ...model.profile.fallback.flatMap((id) => catalog.get(id) ?? [])];
  let lastError: unknown;
  for (const candidate of chain) {
    const deadlineMs = options.deadlineMs - (performance.now() - started);
    if (deadlineMs <= 0 || options.signal.aborted) break;
    try {
      const routed = await route(candidate, { ...options, deadlineMs });
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
