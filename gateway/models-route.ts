import type { Context } from 'hono';
import type { RoutableModel } from '../router/index.ts';
import type { Pipeline } from '../router/pipelines/index.ts';
import { pipelineModelEntries } from './pipeline-model-route.ts';

/**
 * GET /v1/models: one entry per routable subnet model, OpenAI's list shape plus where it routes; then the
 * named pipelines (`pipeline/<name>`).
 */
export function listModelsHandler(
  catalog: ReadonlyMap<string, RoutableModel>,
  pipelines?: ReadonlyMap<string, Pipeline>,
) {
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
  const listed = { ...body, data: [...body.data, ...pipelineModelEntries(pipelines)] };
  return (c: Context) => c.json(listed);
}
