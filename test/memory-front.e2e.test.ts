import { once } from 'node:events';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// Cache hits of text generation are answered ahead of Hono (gateway/memory-front.ts). What a client, an
// operator's metrics and logs see of a hit must not depend on which of the two answered it: a path with
// a query is routed by Hono alike but never taken by the front, so it shows what Hono would have said.

const MODEL = 'sn18/cortex-chat';
const BASE_ENV = { TAOGATE_HEDGE: 'off' };
/** Set by node:http or differing per answer by design. */
const PER_ANSWER = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'x-request-id',
  'server-timing',
]);

let stack: Stack;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  });
  stack = await startStack({ env: BASE_ENV, logger: pino({ level: 'info' }, sink) });
});
afterAll(() => stack.close());

function bodyOf(content: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], temperature: 0, ...extra });
}

interface Completion {
  id: string;
  choices: { message: { content: string } }[];
  usage: unknown;
  error: { param: string };
}

async function post(body: string, headers: Record<string, string> = {}, query = '') {
  const response = await fetch(`${stack.baseURL}/chat/completions${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  return { response, text, json: JSON.parse(text) as Completion };
}

function stableHeaders(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => !PER_ANSWER.has(name)));
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text
    .split('\n')
    .find((row) => row.startsWith(`${name}{`) && wanted.every((label) => row.includes(label)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('cache hits answered ahead of Hono', () => {
  it('carry the headers and answer Hono gives a hit, each with an id and a time of its own', async () => {
    const body = bodyOf('front: same answer');
    const miss = await post(body);
    expect(miss.response.headers.get('x-taogate-cache')).toBe('miss');
    const front = await post(body, { 'x-request-id': 'client-id-1' });
    const hono = await post(body, {}, '?via=hono');

    for (const hit of [front, hono]) {
      expect(hit.response.status).toBe(200);
      expect(hit.response.headers.get('x-taogate-cache')).toBe('hit');
      expect(hit.response.headers.get('server-timing')).toMatch(/^cache;desc="hit", .*gateway;dur=[\d.]+$/);
      expect(hit.json.choices[0]?.message.content).toBe(miss.json.choices[0]?.message.content);
      expect(hit.json.usage).toEqual(miss.json.usage);
      expect(hit.json.id).not.toBe(miss.json.id);
    }
    expect(stableHeaders(front.response)).toEqual(stableHeaders(hono.response));
    expect(front.response.headers.get('x-request-id')).toBe('client-id-1');
    expect(front.json.id).not.toBe(hono.json.id);
    expect(Object.keys(front.json)).toEqual(Object.keys(hono.json));
    expect(Number(front.response.headers.get('content-length'))).toBe(Buffer.byteLength(front.text));
  });

  it('are counted in the metrics and written to the access log like any request', async () => {
    const body = bodyOf('front: counted');
    await post(body);
    const labels = { netuid: '18', result: 'hit' };
    const hitsBefore = await metricValue('taogate_cache_lookups_total', labels);
    const requestLabels = { route: '/v1/chat/completions', status: '200', netuid: '18' };
    const requestsBefore = await metricValue('taogate_http_requests_total', requestLabels);
    const ids = ['counted-1', 'counted-2', 'counted-3'];
    for (const id of ids) await post(body, { 'x-request-id': id });

    expect(await metricValue('taogate_cache_lookups_total', labels)).toBe(hitsBefore + 3);
    expect(await metricValue('taogate_http_requests_total', requestLabels)).toBe(requestsBefore + 3);
    const logged = logLines.filter((line) => ids.includes(line.req_id as string));
    expect(logged).toHaveLength(3);
    for (const line of logged) {
      expect(line).toMatchObject({
        msg: 'request',
        route: '/v1/chat/completions',
        status: 200,
        cache: 'hit',
      });
      expect(line).toMatchObject({ model: MODEL, miner: expect.stringMatching(/^sn18\/uid\d+$/) });
    }
  });

  it('leave a request to Hono when its headers change the answer', async () => {
    const body = bodyOf('front: headers decide');
    await post(body);

    const badSwitch = await post(body, { 'x-taogate-cache': 'maybe' });
    expect(badSwitch.response.status).toBe(400);
    expect(badSwitch.json.error.param).toBe('x-taogate-cache');

    const fresh = await post(body, { 'cache-control': 'no-cache' });
    expect(fresh.response.headers.get('x-taogate-cache')).toBe('miss');

    const fannedOut = await post(body, { 'x-taogate-fanout': '2' });
    expect(fannedOut.response.status).toBe(200);
    expect(fannedOut.response.headers.get('x-taogate-fanout-miners')?.split(',')).toHaveLength(2);
  });

  it('read bodies that arrive in pieces, and shrug off clients that leave halfway', async () => {
    const body = bodyOf('front: in pieces');
    await post(body);
    const { port } = new URL(stack.gateway.url);
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
    const half = Math.floor(body.length / 2);

    const slow = connect(Number(port), '127.0.0.1');
    slow.write(head + body.slice(0, half));
    await new Promise((resolve) => setTimeout(resolve, 50));
    slow.end(body.slice(half));
    let answer = '';
    slow.on('data', (chunk) => {
      answer += chunk;
    });
    await once(slow, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(answer).toMatch(/x-taogate-cache: hit/i);

    const leaving = connect(Number(port), '127.0.0.1');
    leaving.write(head + body.slice(0, half));
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaving.destroy();
    await once(leaving, 'close');

    const after = await post(body);
    expect(after.response.headers.get('x-taogate-cache')).toBe('hit');
  });
});
