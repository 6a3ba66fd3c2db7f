import type { Context } from 'hono';

/**
 * Reads the request body for a middleware (to verify a signature, to price the request) and leaves it
 * readable for the route after it: hono caches the text, and the raw request is rebuilt around it so the
 * route's own body limit can read it again.
 */
export async function peekBody(c: Context): Promise<string> {
  const text = await c.req.text();
  if (c.req.raw.bodyUsed) c.req.raw = new Request(c.req.raw, { body: text });
  return text;
}
