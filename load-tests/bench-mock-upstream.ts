// Mock OpenAI-compatible upstream for the side-by-side benchmark (node:http only, as ../shared/bench's
// upstream.mjs): POST /v1/chat/completions answers JSON, or SSE with `stream: true`, after
// UPSTREAM_DELAY_MS; GET /v1/models lists one model. PORT, UPSTREAM_DELAY_MS, STREAM_CHUNKS.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 19001);
const delayMs = Number(process.env.UPSTREAM_DELAY_MS ?? 0);
const chunks = Number(process.env.STREAM_CHUNKS ?? 8);

const completion = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'bench-model',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog.' },
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
});
const models = JSON.stringify({
  object: 'list',
  data: [{ id: 'bench-model', object: 'model', created: 0, owned_by: 'bench' }],
});
const chunk = (delta: Record<string, string>, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'bench-model', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
// The whole event stream is the same every time: built once, so the mock costs as little as it can.
const events = [
  ...Array.from({ length: chunks }, (_, i) => chunk({ content: `tok${i} ` }, null)),
  chunk({}, 'stop'),
  'data: [DONE]\n\n',
];

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/v1/models')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(models);
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (data: string) => {
    body += data;
  });
  req.on('end', () => {
    let stream: boolean;
    try {
      stream = (JSON.parse(body || '{}') as { stream?: unknown }).stream === true;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"bad json"}}');
      return;
    }
    const answer = () => {
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(completion);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (let i = 0; i < events.length - 1; i++) res.write(events[i]);
      res.end(events[events.length - 1]);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
