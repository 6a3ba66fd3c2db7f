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
  type RequestTelemetry,
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

/** What the response's headers say about how it was answered. */
export interface AnswerFacts {
  /** The route template matched (`/v1/models/:id{.+}`), as metrics and spans are labelled. */
  route: string;
  status: number;
  /** `sn18/uid3`: the miner whose answer this is. */
  miner: string | undefined;
  /** The model that answered when another stood in (fallback). */
  servedBy: string | undefined;
}

/**
 * One request from arrival to its last byte: an id (the client's `x-request-id` if sane, else a new one)
 * carried by every log line, a span when tracing is on, its `Server-Timing`, its metrics and access log.
 * Served through Hono (`requestTelemetry`) or ahead of it (`memory-front.ts`) alike.
 */
export class TrackedRequest {
  readonly id: string;
  readonly telemetry: RequestTelemetry;
  readonly #deps: RequestTelemetryDeps;
  readonly #method: string;
  readonly #path: string;
  #facts: AnswerFacts | undefined;

  constructor(
    deps: RequestTelemetryDeps,
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    startedAt = performance.now(),
  ) {
    const sentId = headers['x-request-id'];
    const id = requestIdOf(typeof sentId === 'string' ? sentId : undefined);
    const traced = deps.tracing ? startRequestSpan(method, path, headers, id) : undefined;
    this.id = id;
    this.telemetry = newRequestTelemetry({
      id,
      startedAt,
      span: traced?.span,
      traceContext: traced?.context,
      operation: OPERATION_BY_ROUTE[path],
    });
    this.#deps = deps;
    this.#method = method;
    this.#path = path;
    deps.metrics?.requestStarted();
  }

  /** Its headers are about to leave: counts the request, and returns its `Server-Timing` value. */
  answered(facts: AnswerFacts): string {
    this.#facts = facts;
    const headersMs = performance.now() - this.telemetry.startedAt;
    this.#deps.metrics?.observeRequest({
      route: facts.route,
      status: facts.status,
      netuid: netuidOf(facts.miner),
      seconds: headersMs / 1000,
    });
    return serverTimingOf(this.telemetry, headersMs);
  }

  /** Its last byte is written, or its client left: the answer's metrics, the span's end, the access log. */
  finished(): void {
    const facts = this.#facts;
    if (!facts) return;
    const { metrics, logger } = this.#deps;
    const request = this.telemetry;
    const totalMs = performance.now() - request.startedAt;
    metrics?.requestFinished();
    const netuid = netuidOf(facts.miner) ?? request.netuid;
    if (request.model !== undefined && netuid !== undefined) {
      metrics?.observeGeneration({
        netuid,
        model: request.model,
        seconds: totalMs / 1000,
        firstTokenSeconds: request.firstChunkMs === undefined ? undefined : request.firstChunkMs / 1000,
        errorCode: facts.status >= 400 ? String(facts.status) : undefined,
        inputTokens: request.inputTokens,
        outputTokens: request.outputTokens,
      });
    }
    endRequestSpan(request, { method: this.#method, ...facts });
    // API requests make the access log; scrapes, probes and dashboard polls only at debug level.
    const level = this.#path.startsWith('/v1/') ? 'info' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        req_id: this.id,
        method: this.#method,
        route: facts.route,
        status: facts.status,
        ms: Math.round(totalMs * 10) / 10,
        model: request.model,
        miner: facts.miner,
        attempts: request.attempts || undefined,
        cache: request.cache,
      },
      'request',
    );
  }
}

/** `sn18/uid3` → 18. */
function netuidOf(miner: string | undefined): number | undefined {
  return miner === undefined ? undefined : Number(miner.slice(2, miner.indexOf('/')));
}

/** Every request through Hono is tracked: its id and `Server-Timing` are added to whatever it answers. */
export function requestTelemetry(deps: RequestTelemetryDeps) {
  return async (c: Context, next: Next): Promise<void> => {
    const request = new TrackedRequest(deps, c.req.method, c.req.path, incomingHeadersOf(c));
    await withRequest(request.telemetry, next);

    const headers = c.res.headers;
    const timing = request.answered({
      route: routePath(c, -1),
      status: c.res.status,
      miner: headers.get('x-taogate-miner') ?? undefined,
      servedBy: headers.get('x-taogate-fallback') ?? undefined,
    });
    // A handler's own entries (a pipeline's steps) come first; the gateway's are added after them.
    const ownTiming = headers.get('server-timing');
    if (ownTiming) headers.set('server-timing', `${ownTiming}, ${timing}`);
    else setResponseHeader(c, 'server-timing', timing);
    setResponseHeader(c, 'x-request-id', request.id);
    whenResponseDone(c, () => request.finished());
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
