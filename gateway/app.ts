import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';
import type { GatewayCache } from '../cache/index.ts';
import type { MetagraphSource } from '../chain/index.ts';
import type { SubnetProfile } from '../config/index.ts';
import type { ChatRouter, RoutableModel } from '../router/index.ts';
import { PIPELINE_MODEL_PREFIX, type Pipeline } from '../router/pipelines/index.ts';
import type { GatewayMetrics } from '../telemetry/index.ts';
import { chatCompletionRequest, toChatRequest } from './chat-schema.ts';
import { completionRequest, completionToChatRequest } from './completion-schema.ts';
import type { Drain } from './drain.ts';
import { httpError, toHttpError } from './errors.ts';
import { generationHandler } from './generation-route.ts';
import { listModelsHandler } from './models-route.ts';
import { isPipelineModel, pipelineModelEntry } from './pipeline-model-route.ts';
import { pipelineRunHandler } from './pipeline-run-route.ts';
import { checkReadiness, type ReadinessCheck } from './readiness.ts';
import { chatCompletionShape, textCompletionShape } from './response-shapes.ts';
import { subnetsHandlers } from './subnets-route.ts';

export interface GatewayDeps {
  catalog: ReadonlyMap<string, RoutableModel>;
  profiles: readonly SubnetProfile[];
  router: ChatRouter;
  source: MetagraphSource;
  logger: Logger;
  metrics: GatewayMetrics;
  cache: GatewayCache;
  deadlineMs: number;
  maxBodyBytes: number;
  /** Stores register here as they are built; `/readyz` reports each by name. */
  readinessChecks: ReadinessCheck[];
  /** Graceful shutdown: counts requests and streams in flight, and cuts them when the drain time is up. */
  drain: Drain;
  /** Named pipelines (TAOGATE_PIPELINES), served as the models `pipeline/<name>`. */
  pipelines?: ReadonlyMap<string, Pipeline>;
}

/** The HTTP surface: OpenAI's routes, errors in OpenAI's shape, never a stack trace. */
export function createGatewayApp(deps: GatewayDeps): Hono {
  const app = new Hono();
  const limitBody = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: (c) => {
      const error = httpError(
        413,
        `Request body exceeds ${deps.maxBodyBytes} bytes`,
        'invalid_request_error',
        'request_too_large',
      );
      return c.json(error.body, error.status);
    },
  });

  const subnets = subnetsHandlers(deps);

  app.use('/v1/*', deps.drain.middleware);
  // Every API answer is counted and timed per route, status and the subnet that answered (its miner header).
  app.use('/v1/*', async (c, next) => {
    const started = performance.now();
    await next();
    const miner = c.res.headers.get('x-taogate-miner');
    deps.metrics.observeRequest({
      route: routePath(c, -1),
      status: c.res.status,
      netuid: miner ? Number(miner.slice(2, miner.indexOf('/'))) : undefined,
      seconds: (performance.now() - started) / 1000,
    });
  });
  app.get('/metrics', async (c) =>
    c.body(await deps.metrics.render(), 200, { 'content-type': deps.metrics.contentType }),
  );
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Ready once a metagraph is loaded (from the chain or the snapshot on disk: before that nothing routes)
  // and every registered store answers; not ready while draining, so load balancers stop sending.
  app.get('/readyz', async (c) => {
    const snapshot = deps.source.current();
    const stores = await checkReadiness(deps.readinessChecks);
    const checks = { metagraph: snapshot !== undefined, ...stores.checks };
    if (deps.drain.draining) return c.json({ status: 'draining', checks }, 503);
    if (!snapshot || !stores.ready)
      return c.json({ status: snapshot ? 'not_ready' : 'loading', checks }, 503);
    return c.json({ status: 'ready', block: snapshot.block, checks });
  });
  app.get('/v1/cache', (c) => c.json(deps.cache.stats()));
  app.get('/v1/subnets', subnets.list);
  app.get('/v1/subnets/:netuid{[0-9]+}', subnets.one);
  app.get('/v1/models', listModelsHandler(deps.catalog, deps.pipelines));
  app.get('/v1/models/:id{.+}', (c) => {
    const id = c.req.param('id');
    const pipeline = isPipelineModel(id) && deps.pipelines?.get(id.slice(PIPELINE_MODEL_PREFIX.length));
    if (pipeline) return c.json(pipelineModelEntry(id.slice(PIPELINE_MODEL_PREFIX.length), pipeline));
    const model = deps.catalog.get(c.req.param('id'));
    if (!model) {
      const error = httpError(
        404,
        `The model '${c.req.param('id')}' does not exist`,
        'invalid_request_error',
        'model_not_found',
        'model',
      );
      return c.json(error.body, error.status);
    }
    return c.json({
      id: model.id,
      object: 'model',
      created: 0,
      owned_by: `bittensor-sn${model.profile.netuid}`,
    });
  });
  app.post(
    '/v1/chat/completions',
    limitBody,
    generationHandler(deps, { schema: chatCompletionRequest, toChatRequest, shape: chatCompletionShape }),
  );
  app.post(
    '/v1/completions',
    limitBody,
    generationHandler(deps, {
      schema: completionRequest,
      toChatRequest: completionToChatRequest,
      shape: textCompletionShape,
    }),
  );

  app.post('/v1/pipelines/run', limitBody, pipelineRunHandler(deps));

  app.notFound((c) => {
    const error = httpError(
      404,
      `Unknown route ${c.req.method} ${c.req.path}`,
      'invalid_request_error',
      'unknown_url',
    );
    return c.json(error.body, error.status);
  });
  app.onError((err, c) => {
    deps.logger.error({ err, path: c.req.path }, 'unhandled error');
    const error = toHttpError(err);
    return c.json(error.body, error.status);
  });
  return app;
}
