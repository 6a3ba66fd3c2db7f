import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { expectOpenAIError } from './hostile-expectations.ts';

const MAX_BODY_BYTES = 64 * 1024;
const HEADERS_TIMEOUT_MS = 400;
const REQUEST_TIMEOUT_MS = 800;
const MAX_MESSAGES = 8;
const MAX_OUTPUT_TOKENS = 4096;

const CHAT = '/v1/chat/completions';
const valid = { model: 'sn4/targon-chat', messages: [{ role: 'user', content: 'hello' }] };

/** One hostile request and what it must get: a 4xx in OpenAI's shape, or a valid answer. */
interface Case {
  name: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  path?: string;
  method?: string;
  status: number;
  code?: string | null;
  param?: string | null;
}

const json = (value: unknown) => JSON.stringify(value);
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const CORPUS: Case[] = [
  {
    name: 'malformed JSON',
    body: '{"model": "sn4/targon-chat", "messages": [',
    status: 400,
    code: 'invalid_json',
  },
  { name: 'a bare string', body: '"hello"', status: 400 },
  { name: 'JSON null', body: 'null', status: 400 },
  { name: 'an empty body', body: '', status: 400, code: 'invalid_json' },
  {
    name: 'NaN, which JSON has not',
    body: '{"model":"sn4/targon-chat","temperature":NaN}',
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'deep nesting in an unknown field (ignored)',
    body: `{"model":"sn4/targon-chat","messages":[{"role":"user","content":"deep"}],"x":${nested(20_000)}}`,
    status: 200,
  },
  {
    name: 'deep nesting where content goes',
    body: `{"model":"sn4/targon-chat","messages":[{"role":"user","content":${nested(20_000)}}]}`,
    status: 400,
    param: 'messages.0.content',
  },
  {
    name: 'invalid UTF-8 in a string (decoded as U+FFFD, answered)',
    body: Buffer.concat([
      Buffer.from('{"model":"sn4/targon-chat","messages":[{"role":"user","content":"'),
      Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
      Buffer.from('"}]}'),
    ]),
    status: 200,
  },
  { name: 'messages as a string', body: json({ ...valid, messages: 'hi' }), status: 400, param: 'messages' },
  { name: 'model as a number', body: json({ ...valid, model: 5 }), status: 400, param: 'model' },
  {
    name: 'an unknown model',
    body: json({ ...valid, model: 'sn999/none' }),
    status: 404,
    code: 'model_not_found',
  },
  {
    name: 'an unknown role',
    body: json({ ...valid, messages: [{ role: 'root', content: 'x' }] }),
    status: 400,
  },
  { name: 'stream as a string', body: json({ ...valid, stream: 'yes' }), status: 400, param: 'stream' },
  {
    name: 'a negative temperature',
    body: json({ ...valid, temperature: -1 }),
    status: 400,
    param: 'temperature',
  },
  {
    name: 'a temperature of 1e400 (Infinity)',
    body: '{"model":"sn4/targon-chat","messages":[{"role":"user","content":"x"}],"temperature":1e400}',
    status: 400,
    param: 'temperature',
  },
  { name: 'negative max_tokens', body: json({ ...valid, max_tokens: -5 }), status: 400, param: 'max_tokens' },
  {
    name: 'fractional max_tokens',
    body: json({ ...valid, max_tokens: 1.5 }),
    status: 400,
    param: 'max_tokens',
  },
  {
    name: 'max_tokens past the configured limit',
    body: json({ ...valid, max_tokens: MAX_OUTPUT_TOKENS + 1 }),
    status: 400,
    param: 'max_tokens',
  },
  { name: 'n of 2', body: json({ ...valid, n: 2 }), status: 400, param: 'n' },
  {
    name: 'more messages than configured',
    body: json({
      ...valid,
      messages: Array.from({ length: MAX_MESSAGES + 1 }, () => ({ role: 'user', content: 'x' })),
    }),
    status: 400,
    code: 'too_many_messages',
  },
  {
    name: 'unknown fields and __proto__ (ignored, nothing polluted)',
    body: '{"model":"sn4/targon-chat","messages":[{"role":"user","content":"x"}],"foo":{"bar":1},"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    status: 200,
  },
  {
    name: 'a huge string past the body limit',
    body: json({ ...valid, model: 'x'.repeat(MAX_BODY_BYTES) }),
    status: 413,
    code: 'request_too_large',
  },
  {
    name: 'an oversized body',
    body: Buffer.alloc(MAX_BODY_BYTES * 4, 0x20),
    status: 413,
    code: 'request_too_large',
  },
  {
    name: 'a huge string within the limit',
    body: json({ ...valid, messages: [{ role: 'user', content: 'y'.repeat(MAX_BODY_BYTES - 200) }] }),
    status: 200,
  },
  {
    name: 'a fan-out header past 2^53',
    body: json(valid),
    headers: { 'x-taogate-fanout': '99999999999999999999' },
    status: 400,
    param: 'x-taogate-fanout',
  },
  {
    name: 'a fan-out header that is not a number',
    body: json(valid),
    headers: { 'x-taogate-fanout': '1; drop table' },
    status: 400,
    param: 'x-taogate-fanout',
  },
  {
    name: 'form-encoded content-type (the body is judged)',
    body: json(valid),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 200,
  },
  { name: 'a GET where POST is meant', body: '', method: 'GET', status: 404 },
  { name: 'path traversal', body: '', method: 'GET', path: '/v1/../../../etc/passwd', status: 404 },
  { name: 'an encoded NUL in the path', body: '', method: 'GET', path: '/v1/models/%00%2e%2e', status: 404 },
];

describe('hostile requests', () => {
  let stack: Stack;
  let host: string;
  let port: number;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        TAOGATE_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
        TAOGATE_MAX_HEADER_BYTES: '8192',
        TAOGATE_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        TAOGATE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        TAOGATE_MAX_MESSAGES: String(MAX_MESSAGES),
        TAOGATE_MAX_OUTPUT_TOKENS: String(MAX_OUTPUT_TOKENS),
      },
      localnet: { minersPerSubnet: 2 },
    });
    const url = new URL(stack.gateway.url);
    host = url.hostname;
    port = Number(url.port);
  });
  afterAll(() => stack?.close());

  for (const hostile of CORPUS) {
    it(`answers ${hostile.name} with ${hostile.status}`, async () => {
      const method = hostile.method ?? 'POST';
      const response = await fetch(`${stack.gateway.url}${hostile.path ?? CHAT}`, {
        method,
        headers: { 'content-type': 'application/json', ...hostile.headers },
        body: method === 'POST' ? hostile.body : null,
      });
      expect(response.status).toBe(hostile.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      if (hostile.status === 200) {
        expect(body).toMatchObject({
          object: 'chat.completion',
          choices: [{ message: { role: 'assistant' } }],
        });
      } else {
        expectOpenAIError(body);
        const error = (body as { error: { code: string | null; param: string | null } }).error;
        if (hostile.code !== undefined) expect(error.code).toBe(hostile.code);
        if (hostile.param !== undefined) expect(error.param).toBe(hostile.param);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('refuses headers past TAOGATE_MAX_HEADER_BYTES with 431 in OpenAI shape', async () => {
    const answer = await raw(
      `POST ${CHAT} HTTP/1.1\r\nhost: x\r\nx-junk: ${'a'.repeat(10_000)}\r\ncontent-length: 2\r\n\r\n{}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expectOpenAIError(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)));
  });

  it('refuses request smuggling shapes (content-length with transfer-encoding, two lengths) with 400', async () => {
    const both = await raw(
      `POST ${CHAT} HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
    expect(both).toMatch(/^HTTP\/1\.1 400 /);
    const twice = await raw(
      `POST ${CHAT} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}`,
    );
    expect(twice).toMatch(/^HTTP\/1\.1 400 /);
    const badName = await raw(`POST ${CHAT} HTTP/1.1\r\nhost: x\r\nbad header: 1\r\n\r\n`);
    expect(badName).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('takes a chunked body past the limit as 413, however it is framed', async () => {
    const chunk = 'z'.repeat(16 * 1024);
    const chunks = Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const answer = await raw(
      `POST ${CHAT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n${chunks}0\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('hangs up on a slowloris client that never finishes its headers, with 408', async () => {
    const started = performance.now();
    const socket = await open();
    socket.write(`POST ${CHAT} HTTP/1.1\r\nhost: x\r\n`);
    const drip = setInterval(() => socket.writable && socket.write('x-slow: 1\r\n'), 100);
    const answer = await readUntilClosed(socket).finally(() => clearInterval(drip));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(performance.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS + 1500);
  });

  it('hangs up on a client that sends its body too slowly', async () => {
    const started = performance.now();
    const socket = await open();
    socket.write(
      `POST ${CHAT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`,
    );
    const drip = setInterval(() => socket.writable && socket.write(' '), 100);
    await readUntilClosed(socket).finally(() => clearInterval(drip));
    expect(performance.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
  });

  it('keeps serving others while many slow clients hold connections open', async () => {
    const slow = await Promise.all(Array.from({ length: 50 }, () => open()));
    for (const socket of slow) socket.write(`POST ${CHAT} HTTP/1.1\r\nhost: x\r\n`);
    const started = performance.now();
    const reply = await stack.client.chat.completions.create({
      model: 'sn4/targon-chat',
      messages: [{ role: 'user', content: 'still here' }],
    });
    expect(reply.choices[0]?.message.content).toMatch(/heard: still here$/);
    expect(performance.now() - started).toBeLessThan(1000);
    for (const socket of slow) socket.destroy();
  });

  it('is still healthy after the whole corpus', async () => {
    expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
    const reply = await stack.client.chat.completions.create(valid as never);
    expect(reply.choices[0]?.message.content).toMatch(/^sn4 miner \d heard: hello$/);
  });

  function open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(socket));
      socket.once('error', reject);
    });
  }

  async function readUntilClosed(socket: Socket): Promise<string> {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.once('error', () => resolve());
    });
    return text;
  }

  /** Sends bytes as they are, for what fetch will not send; resolves with what came back before the close. */
  async function raw(request: string): Promise<string> {
    const socket = await open();
    socket.write(request);
    const closed = readUntilClosed(socket);
    const timer = setTimeout(() => socket.end(), 2000);
    return closed.finally(() => clearTimeout(timer));
  }
});
