import type { IncomingHttpHeaders, RequestListener, ServerResponse } from 'node:http';
import { withRequest } from '../telemetry/index.ts';
import { toHttpError } from './errors.ts';
import { type RequestTelemetryDeps, TrackedRequest } from './request-telemetry.ts';

/** An answer this process holds, ready to be written. */
export interface MemoryAnswer {
  /** Its headers, less the request id and `Server-Timing` (the request's telemetry adds those). */
  headers: Record<string, string>;
  body: string;
  /** `sn18/uid3`: the miner whose answer it is. */
  miner: string | undefined;
  /** The model that answered when another stood in. */
  servedBy: string | undefined;
}

/**
 * Finds the answer to a POST body held in memory, without side effects: undefined hands the request on to
 * Hono. The function returned builds the answer, inside the request's telemetry (it counts the hit).
 */
export type MemoryAnswerer = (text: string, headers: IncomingHttpHeaders) => (() => MemoryAnswer) | undefined;

export interface MemoryFrontOptions {
  /** By exact path: the POST routes whose answers memory may hold. */
  answerers: ReadonlyMap<string, MemoryAnswerer>;
  /** Larger bodies are never remembered: they go to Hono unread. */
  maxBodyBytes: number;
  telemetry: RequestTelemetryDeps;
}

/**
 * Cache hits served ahead of Hono. A hit needs none of what Hono and @hono/node-server build per request
 * (a web Request, a Response, web Headers and their conversion back to node:http), which cost more than
 * the hit itself (load-tests/cache.ts). Installed only where no middleware has a say in a hit (no billing,
 * no per-IP rate limit, no CORS); a request that may be a hit has its body read here, and if memory holds
 * no answer for it, goes on to Hono with that body (`rawBody`, read by @hono/node-server), where it is
 * handled as any other. So does one with a query, or a chunked body.
 */
export function memoryFront(options: MemoryFrontOptions): (next: RequestListener) => RequestListener {
  return (next) => (req, res) => {
    const answerer = req.method === 'POST' && req.url ? options.answerers.get(req.url) : undefined;
    const length = Number(req.headers['content-length']);
    if (!answerer || !(length <= options.maxBodyBytes) || req.headers['transfer-encoding'] !== undefined)
      return next(req, res);
    const arrivedAt = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A client that leaves mid-body gets nothing: node:http closes its socket (and emits no unheard error).
    req.once('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const answer = answerer(body.toString(), req.headers);
      if (!answer) return next(Object.assign(req, { rawBody: body }), res);
      const path = req.url!;
      const tracked = new TrackedRequest(options.telemetry, 'POST', path, req.headers, arrivedAt);
      writeMemoryAnswer(res, answer, tracked, path, options.telemetry.logger);
    });
  };
}

function writeMemoryAnswer(
  res: ServerResponse,
  answer: () => MemoryAnswer,
  tracked: TrackedRequest,
  route: string,
  logger: RequestTelemetryDeps['logger'],
): void {
  res.once('close', () => tracked.finished());
  let status = 200;
  let written: MemoryAnswer;
  try {
    written = withRequest(tracked.telemetry, answer);
  } catch (error) {
    // As Hono's onError answers a handler's fault: logged, and an OpenAI-shaped error, never a crash.
    logger.error({ err: error, path: route }, 'unhandled error');
    const failed = toHttpError(error);
    status = failed.status;
    const headers = { 'content-type': 'application/json' };
    written = { headers, body: JSON.stringify(failed.body), miner: undefined, servedBy: undefined };
  }
  const { headers, body, miner, servedBy } = written;
  headers['server-timing'] = tracked.answered({ route, status, miner, servedBy });
  headers['x-request-id'] = tracked.id;
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(body);
}

/** A request header as one string (node:http joins repeats of most, as web Headers do). */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
