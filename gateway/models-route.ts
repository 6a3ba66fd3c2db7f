import type { Context } from 'hono';
import type { RoutableModel } from '../router/index.ts';
import type { Pipeline } from '../router/pipelines/index.ts';
import { pipelineModelEntries } from './pipeline-model-route.ts';

/**
 * A routable model as `/v1/models` shows it: OpenAI's model object (`id`, `object`, `created`, `owned_by`),
 * then taogate's own fields: the subnet it routes to, its task and protocol, its price in rao, and what the
 * task's endpoint accepts (embedding dimensions, image sizes).
 */
export function modelEntry({ id, profile }: RoutableModel) {
  return {
    id,
    object: 'model' as const,
    created: 0,
    owned_by: `bittensor-sn${profile.netuid}`,
    netuid: profile.netuid,
    subnet: profile.name,
    task: profile.task,
    protocol: profile.protocol,
    description: profile.description ?? null,
    price: { unit: 'rao', ...profile.price },
    fallback: profile.fallback,
    ...(profile.embeddings && { embeddings: profile.embeddings }),
    ...(profile.images && { images: profile.images }),
  };
}

/**
 * GET /v1/models: one entry per routable subnet model, OpenAI's list shape plus where it routes; then the
 * named pipelines (`pipeline/<name>`).
 */
export function listModelsHandler(
  catalog: ReadonlyMap<string, RoutableModel>,
  pipelines?: ReadonlyMap<string, Pipeline>,
) {
  const listed = {
    object: 'list',
    data: [...[...catalog.values()].map(modelEntry), ...pipelineModelEntries(pipelines)],
  };
  return (c: Context) => c.json(listed);
}
