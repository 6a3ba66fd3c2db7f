import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * Browser access, off by default: with no allow-list the gateway sends no CORS headers at all, so no web
 * page can read its answers (or spend its users' keys) from a visitor's browser. With one, only the listed
 * origins are answered, never `*` and never with credentials: API keys travel in `Authorization`, which a
 * page must set itself.
 */
export function corsFor(allowedOrigins: readonly string[]): MiddlewareHandler | undefined {
  if (allowedOrigins.length === 0) return undefined;
  const allowed = new Set(allowedOrigins);
  return cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['authorization', 'content-type', 'x-taogate-fanout', 'x-taogate-cache'],
    exposeHeaders: [
      'x-taogate-miner',
      'x-taogate-attempts',
      'x-taogate-fallback',
      'x-taogate-hedged',
      'x-taogate-cache',
      'retry-after',
      'server-timing',
    ],
    maxAge: 600,
    credentials: false,
  });
}
