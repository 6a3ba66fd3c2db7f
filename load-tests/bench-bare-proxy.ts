// The thinnest useful Node proxy (as ../shared/bench's bare-proxy.mjs): node:http in, an undici Pool out,
// the body passed through untouched. What Node itself costs. PORT, UPSTREAM.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const port = Number(process.env.PORT ?? 19002);
const pool = new Pool(process.env.UPSTREAM ?? 'http://127.0.0.1:19001', { connections: 128, pipelining: 1 });

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (data: Buffer) => parts.push(data));
  req.on('end', async () => {
    try {
      const up = await pool.request({
        method: 'POST',
        path: req.url ?? '/',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(parts),
      });
      res.writeHead(up.statusCode, {
        'content-type': String(up.headers['content-type'] ?? 'application/json'),
      });
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    } catch (error) {
      res.writeHead(502);
      res.end(String(error));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
