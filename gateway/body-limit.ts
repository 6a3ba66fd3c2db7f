import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export interface BodyLimitOptions {
  maxSize: number;
  onError(c: Context): Response | Promise<Response>;
}

/**
 * Hono's body limit, without its cost on the common path: a request that declares its length is judged by
 * the header alone. Hono's own version first reads `c.req.raw.body`, which makes @hono/node-server build a
 * full WHATWG Request and read every body through web streams (load-tests/bench.ts: a fifth of the
 * gateway's CPU per request); only chunked bodies, whose size is unknown until read, still go through it.
 */
export function limitBodySize(options: BodyLimitOptions): MiddlewareHandler {
  const counted = bodyLimit(options);
  return async (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return counted(c, next);
    if (Number(length) > options.maxSize) return options.onError(c);
    await next();
  };
}
