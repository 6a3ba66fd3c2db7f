// The bare proxy again, on the framework taogate is built on (hono on @hono/node-server): what the
// framework costs before any gateway logic. PORT, UPSTREAM.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Pool } from 'undici';

const port = Number(process.env.PORT ?? 19004);
const pool = new Pool(process.env.UPSTREAM ?? 'http://127.0.0.1:19001', { connections: 128, pipelining: 1 });

const app = new Hono();
app.post('/v1/chat/completions', async (c) => {
  const up = await pool.request({
    method: 'POST',
    path: c.req.path,
    headers: { 'content-type': 'application/json' },
    body: await c.req.text(),
  });
  const type = String(up.headers['content-type'] ?? 'application/json');
  if (type.startsWith('text/event-stream'))
    return c.body(up.body as unknown as ReadableStream, 200, { 'content-type': type });
  return c.body(await up.body.text(), up.statusCode as 200, { 'content-type': type });
});
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
