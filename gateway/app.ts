import type { RequestListener } from 'node:http';
import { type Handler, Hono, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { GatewayCache } from '../cache/index.ts';
import type { MetagraphSource } from '../chain/index.ts';
import type { SubnetProfile } from '../config/index.ts';
import type { ChatRouter, RoutableModel } from '../router/index.ts';
import { PIPELINE_MODEL_PREFIX, type Pipeline } from '../router/pipelines/index.ts';
import type { GatewayMetrics } from '../telemetry/index.ts';
import { limitBodySize } from './body-limit.ts';
import { chatCompletionRequest, toChatRequest } from './chat-schema.ts';
import { completionRequest, completionToChatRequest } from './completion-schema.ts';
import { corsFor } from './cors.ts';
import { mountDashboard } from './dashboard.ts';
import type { Drain } from './drain.ts';
import { embeddingsHandler } from './embeddings-route.ts';
import { httpError, toHttpError } from './errors.ts';
import { MEMO_MAX_BODY_CHARS } from './generation-request.ts';
import { generationEndpoint } from './generation-route.ts';
import type { ImageStore } from './image-store.ts';
import { IMAGE_FILES_PATH, imageFileHandler, imagesHandler } from './images-route.ts';
import { memoryFront } from './memory-front.ts';
import { listModelsHandler, modelEntry } from './models-route.ts';
import { isPipelineModel, pipelineModelEntry } from './pipeline-model-route.ts';
import { pipelineRunHandler } from './pipeline-run-route.ts';
import { checkReadiness, type ReadinessCheck } from './readiness.ts';
import type { RequestLimits } from './request-limits.ts';
import { type RequestTelemetryDeps, requestTelemetry } from './request-telemetry.ts';
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
  requestLimits: RequestLimits;
  /** Origins allowed to call from a browser; empty: CORS off. */
  corsOrigins: readonly string[];
  /** Stores register here as they are built; `/readyz` reports each by name. */
  readinessChecks: ReadinessCheck[];
  /** Graceful shutdown: counts requests and streams in flight, and cuts them when the drain time is up. */
  drain: Drain;
  /** Named pipelines (TAOGATE_PIPELINES), served as the models `pipeline/<name>`. */
  pipelines?: ReadonlyMap<string, Pipeline>;
  /** Spans per request (the SDK is started by the process), and request metrics (`TAOGATE_METRICS`). */
  telemetry: { tracing: boolean; metrics: boolean };
  /** The payment ledger (TAOGATE_LEDGER): authenticates and charges every POST under /v1; off when unset. */
  billing?: { authenticate: MiddlewareHandler; charge: MiddlewareHandler; usage: Handler };
  /** Requests per minute per client IP on /v1 (TAOGATE_RATE_LIMIT_PER_IP); off when unset. */
  ipRateLimit?: MiddlewareHandler;
  /** Generated images served at their URLs (`response_format: "url"`). */
  imageStore: ImageStore;
  /** How clients reach the gateway, for image URLs; undefined: each request's own origin. */
  publicUrl: string | undefined;
}

/** The HTTP surface, served as `front(app's listener)` when there is a front. */
export interface GatewayApp {
  app: Hono;
  /** Cache hits answered ahead of Hono (memory-front.ts); undefined where middleware must see them. */
  front: ((next: RequestListener) => RequestListener) | undefined;
}

/** The HTTP surface: OpenAI's routes, errors in OpenAI's shape, never a stack trace. */
export function createGatewayApp(deps: GatewayDeps): GatewayApp {
  const app = new Hono();
  const limitBody = limitBodySize({
    maxSize: deps.maxBodyBytes,
    onError: (c) => {
      const error = httpError(
        413,
        `Request body exceeds ${deps.maxBodyBytes} bytes`,
        'invalid_request_error',
        'request_too_large',
      );
      // The rest of the body is never read: the connection cannot carry another request, so say so.
      return c.json(error.body, error.status, { connection: 'close' });
    },
  });

  const subnets = subnetsHandlers(deps);

  // Every response gets a request id and Server-Timing; API answers are counted, timed and traced.
  const telemetry: RequestTelemetryDeps = {
    metrics: deps.telemetry.metrics ? deps.metrics : undefined,
    logger: deps.logger,
    tracing: deps.telemetry.tracing,
  };
  app.use('*', requestTelemetry(telemetry));
  const cors = corsFor(deps.corsOrigins);
  if (cors) app.use('/v1/*', cors);
  app.use('/v1/*', deps.drain.middleware);
  if (deps.ipRateLimit) app.use('/v1/*', deps.ipRateLimit);
  if (deps.billing) {
    // Listing models, prices and subnet stats stays public; everything that costs is paid for.
    app.on('POST', '/v1/*', limitBody, deps.billing.authenticate, deps.billing.charge);
    app.get('/v1/usage', deps.billing.authenticate, deps.billing.usage);
  }
  app.get('/metrics', async (c) =>
    c.body(await deps.metrics.render(), 200, { 'content-type': deps.metrics.contentType }),
  );
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  mountDashboard(app);
  // Ready once a metagraph is loaded (from the chain or the snapshot on disk: before that nothing routes)
  // and every registered store answers; not ready while draining, so load balancers stop sending. A
  // gateway whose subnets are all OpenAI-compatible endpoints reads no chain, and waits for none.
  const readsChain = deps.profiles.some((profile) => profile.protocol !== 'openai');
  app.get('/readyz', async (c) => {
    const snapshot = deps.source.current();
    const loading = readsChain && !snapshot;
    const stores = await checkReadiness(deps.readinessChecks);
    const checks = readsChain ? { metagraph: !loading, ...stores.checks } : stores.checks;
    if (deps.drain.draining) return c.json({ status: 'draining', checks }, 503);
    if (loading || !stores.ready) return c.json({ status: loading ? 'loading' : 'not_ready', checks }, 503);
    const block = readsChain && snapshot ? { block: snapshot.block } : {};
    const degraded = stores.degraded.length > 0 ? { degraded: stores.degraded } : {};
    return c.json({ status: 'ready', ...block, checks, ...degraded });
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
    return c.json(modelEntry(model));
  });
  const generation = new Map([
    [
      '/v1/chat/completions',
      generationEndpoint(deps, { schema: chatCompletionRequest, toChatRequest, shape: chatCompletionShape }),
    ],
    [
      '/v1/completions',
      generationEndpoint(deps, {
        schema: completionRequest,
        toChatRequest: completionToChatRequest,
        shape: textCompletionShape,
      }),
    ],
  ]);
  for (const [path, endpoint] of generation) app.post(path, limitBody, endpoint.handle);

  app.post('/v1/embeddings', limitBody, embeddingsHandler(deps));
  app.post('/v1/images/generations', limitBody, imagesHandler(deps));
  app.get(`${IMAGE_FILES_PATH}/:name`, imageFileHandler(deps.imageStore));
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
    return c.json(error.body, error.status, error.headers);
  });
  // Billing charges hits, the rate limit counts them and CORS adds its headers (`Vary: Origin` even to
  // requests without one): with any of them on, every request goes through Hono.
  const frontServes = deps.cache.settings.enabled && !deps.billing && !deps.ipRateLimit && !cors;
  const answerers = new Map([...generation].map(([path, endpoint]) => [path, endpoint.answerFromMemory]));
  const front = frontServes
    ? memoryFront({ answerers, maxBodyBytes: Math.min(deps.maxBodyBytes, MEMO_MAX_BODY_CHARS), telemetry })
    : undefined;
  return { app, front };
}
