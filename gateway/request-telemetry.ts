import type { IncomingHttpHeaders } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Context, Next } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';
import {
  endRequestSpan,
  type GatewayMetrics,
  newRequestTelemetry,
  OPERATION_BY_ROUTE,
  startRequestSpan,
  withRequest,
} from '../telemetry/index.ts';
import { requestIdOf } from './request-id.ts';
import { serverTimingOf } from './server-timing.ts';

export interface RequestTelemetryDeps {
  /** Undefined when metrics are off (`TAOGATE_METRICS=off`). */
  metrics: GatewayMetrics | undefined;
  logger: Logger;
  /** A server span per request, child of the client's `traceparent`. */
  tracing: boolean;
}

/**
 * Per API request: an id (the client's `x-request-id` if sane, else a new one) echoed back and carried by
 * every log line; a span when tracing is on; a `Server-Timing` header; and, once the last byte is sent,
 * the request's metrics, its access log line and the end of its span.
 */
export function requestTelemetry(deps: RequestTelemetryDeps) {
  return async (c: Context, next: Next): Promise<void> => {
    const startedAt = performance.now();
    const id = requestIdOf(c.req.header('x-request-id'));
    const path = c.req.path;
    const traced = deps.tracing ? startRequestSpan(c.req.method, path, incomingHeadersOf(c), id) : undefined;
    const request = newRequestTelemetry({
      id,
      startedAt,
      span: traced?.span,
      traceContext: traced?.context,
      operation: OPERATION_BY_ROUTE[path],
    });
    deps.metrics?.requestStarted();
    await withRequest(request, next);

    const headersMs = performance.now() - startedAt;
    const headers = c.res.headers;
    const timing = serverTimingOf(request, headersMs);
    // A handler's own entries (a pipeline's steps) come first; the gateway's are added after them.
    const ownTiming = headers.get('server-timing');
    if (ownTiming) headers.set('server-timing', `${ownTiming}, ${timing}`);
    else setResponseHeader(c, 'server-timing', timing);
    setResponseHeader(c, 'x-request-id', id);
    const route = routePath(c, -1);
    const status = c.res.status;
    const miner = headers.get('x-taogate-miner') ?? undefined;
    const servedBy = headers.get('x-taogate-fallback') ?? undefined;
    const answeredBy = miner === undefined ? undefined : Number(miner.slice(2, miner.indexOf('/')));
    deps.metrics?.observeRequest({ route, status, netuid: answeredBy, seconds: headersMs / 1000 });

    whenResponseDone(c, () => {
      const totalMs = performance.now() - startedAt;
      deps.metrics?.requestFinished();
      const netuid = answeredBy ?? request.netuid;
      if (request.model !== undefined && netuid !== undefined) {
        deps.metrics?.observeGeneration({
          netuid,
          model: request.model,
          seconds: totalMs / 1000,
          firstTokenSeconds: request.firstChunkMs === undefined ? undefined : request.firstChunkMs / 1000,
          errorCode: status >= 400 ? String(status) : undefined,
          inputTokens: request.inputTokens,
          outputTokens: request.outputTokens,
        });
      }
      endRequestSpan(request, { method: c.req.method, route, status, servedBy, miner });
      // API requests make the access log; scrapes, probes and dashboard polls only at debug level.
      const level = path.startsWith('/v1/') ? 'info' : 'debug';
      if (!deps.logger.isLevelEnabled(level)) return;
      deps.logger[level](
        {
          req_id: id,
          method: c.req.method,
          route,
          status,
          ms: Math.round(totalMs * 10) / 10,
          model: request.model,
          miner,
          attempts: request.attempts || undefined,
          cache: request.cache,
        },
        'request',
      );
    });
  };
}

/**
 * Sets a header the response does not carry itself on the node:http response it will be written to, where
 * there is one: node:http merges it with the response's own when writing the head. Setting it on the
 * Response's Headers instead validates the value a character at a time in JS (a Server-Timing value is
 * 100–200 of them): ~3% of the gateway's CPU per request in the 0 ms bench profile.
 */
function setResponseHeader(c: Context, name: string, value: string): void {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (outgoing && !outgoing.headersSent) outgoing.setHeader(name, value);
  else c.res.headers.set(name, value);
}

/** The request's headers as node:http parsed them; a record of the web Request's outside node:http. */
function incomingHeadersOf(c: Context): IncomingHttpHeaders {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  return incoming ? incoming.headers : Object.fromEntries(c.req.raw.headers);
}

/**
 * Runs `done` once the response's last byte is written (or the client left): for a stream that is well
 * after the handler returned. Outside node:http (`app.request` in tests) it runs at once.
 */
function whenResponseDone(c: Context, done: () => void): void {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!outgoing || outgoing.writableFinished || outgoing.destroyed) done();
  else outgoing.once('close', done);
}
