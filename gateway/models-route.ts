import type { Context } from 'hono';
import type { RoutableModel } from '../router/index.ts';

/** GET /v1/models: one entry per routable subnet model, OpenAI's list shape plus where it routes. */
export function listModelsHandler(catalog: ReadonlyMap<string, RoutableModel>) {
  const body = {
    object: 'list',
    data: [...catalog.values()].map(({ id, profile }) => ({
      id,
      object: 'model',
      created: 0,
      owned_by: `bittensor-sn${profile.netuid}`,
      netuid: profile.netuid,
      subnet: profile.name,
      task: profile.task,
    })),
  };
  return (c: Context) => c.json(body);
}
