import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.ts';
import { type Gateway, startGateway } from '../gateway/index.ts';
import { textEmbedding } from '../localnet/embedding-vectors.ts';
import type { Localnet } from '../localnet/index.ts';
import { openAIClient, type Stack, startStack } from './harness.ts';

const SHARED_REDIS = 'redis://127.0.0.1:6379';
const MODEL = 'sn18/cortex-chat';
const NETUID = 18;
/** Hedges would add upstream calls of their own: off, so every call counted is one the cache let through. */
const BASE_ENV = { TAOGATE_HEDGE: 'off', TAOGATE_LOG_LEVEL: 'silent' };

let run = 0;
function uniquePrefix(): string {
  return `taogate-test:${process.pid}:${Date.now()}:${run++}:`;
}

function upstreamCalls(localnet: Localnet, netuid = NETUID): number {
  return localnet
    .miners()
    .reduce((sum, miner, index) => sum + (isOf(localnet, netuid, index) ? miner.received : 0), 0);
}

/** Miners are listed subnet by subnet; this one's belong to `netuid` when localnet says so. */
function isOf(localnet: Localnet, netuid: number, index: number): boolean {
  const perSubnet = localnet.miners().length / localnet.subnets().length;
  return localnet.subnets()[Math.floor(index / perSubnet)]?.netuid === netuid;
}

async function ask(
  client: OpenAI,
  content: string,
  extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {},
  headers: Record<string, string> = {},
) {
  const { data, response } = await client.chat.completions
    .create({ model: MODEL, messages: [{ role: 'user', content }], temperature: 0, ...extra }, { headers })
    .withResponse();
  return { text: data.choices[0]?.message.content, cache: response.headers.get('x-taogate-cache'), response };
}

/** A second gateway replica on the same localnet, as a deployment runs several behind a balancer. */
async function startReplica(localnet: Localnet, env: Record<string, string>): Promise<Gateway> {
  const loaded = loadConfig({ TAOGATE_PORT: '0', ...BASE_ENV, ...env });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const gateway = await startGateway(
    { ...loaded.config, chainUrl: localnet.chain.url },
    pino({ level: 'silent' }),
  );
  await gateway.source.ready();
  return gateway;
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(SHARED_REDIS);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

describe('response cache, with Redis shared by two gateway replicas', () => {
  const prefix = uniquePrefix();
  // A generous command timeout: on a loaded CI machine a slow Redis would (rightly) be given up on, and the
  // replicas would each ask upstream; these tests are about sharing, the outage test below about giving up.
  const env = {
    ...BASE_ENV,
    TAOGATE_REDIS_URL: SHARED_REDIS,
    TAOGATE_CACHE_PREFIX: prefix,
    TAOGATE_CACHE_REDIS_TIMEOUT_MS: '2000',
  };
  let stack: Stack;
  let replica: Gateway;
  let replicaClient: OpenAI;

  beforeAll(async () => {
    stack = await startStack({ env });
    replica = await startReplica(stack.localnet, env);
    replicaClient = openAIClient(`${replica.url}/v1`);
  });
  afterAll(async () => {
    await replica?.close();
    await stack?.close();
    await deleteKeys(prefix);
  });

  it('misses, then hits with the same answer; sampling at a temperature bypasses the cache', async () => {
    const first = await ask(stack.client, 'hit me');
    const second = await ask(stack.client, 'hit me');
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.text).toBe(first.text);
    expect(second.response.headers.get('x-taogate-miner')).toBe(
      first.response.headers.get('x-taogate-miner'),
    );
    const warm = await ask(stack.client, 'hit me', { temperature: 0.7 });
    expect(warm.cache).toBe('bypass');
  });

  it('caches a sampled request when the client opts in, by header or by body extension', async () => {
    const byHeader = await ask(stack.client, 'opt in', { temperature: 0.9 }, { 'x-taogate-cache': 'on' });
    const byBody = await ask(stack.client, 'opt in', { temperature: 0.9, taogate: { cache: true } } as never);
    expect([byHeader.cache, byBody.cache]).toEqual(['miss', 'hit']);
    const optedOut = await ask(stack.client, 'opt in', { temperature: 0.9 }, { 'x-taogate-cache': 'off' });
    expect(optedOut.cache).toBe('bypass');
  });

  it('honours Cache-Control: no-store keeps out of the cache, no-cache fetches afresh and stores it', async () => {
    const before = upstreamCalls(stack.localnet);
    expect((await ask(stack.client, 'control', {}, { 'cache-control': 'no-store' })).cache).toBe('bypass');
    expect((await ask(stack.client, 'control')).cache).toBe('miss');
    expect((await ask(stack.client, 'control', {}, { 'cache-control': 'no-cache' })).cache).toBe('miss');
    expect((await ask(stack.client, 'control')).cache).toBe('hit');
    expect(upstreamCalls(stack.localnet) - before).toBe(3);
  });

  it('does not let key order or fields that do not change the answer split the cache', async () => {
    const body = (order: 'a' | 'b') =>
      order === 'a'
        ? { model: MODEL, temperature: 0, messages: [{ role: 'user', content: 'order' }], user: 'alice' }
        : { messages: [{ content: 'order', role: 'user' }], user: 'bob', temperature: 0, model: MODEL };
    const post = (order: 'a' | 'b') =>
      fetch(`${stack.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(order)),
      });
    expect((await post('a')).headers.get('x-taogate-cache')).toBe('miss');
    expect((await post('b')).headers.get('x-taogate-cache')).toBe('hit');
  });

  it('replays a cached answer as a proper SSE stream', async () => {
    const whole = await ask(stack.client, 'replay me');
    const { data: stream, response } = await stack.client.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'replay me' }],
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get('x-taogate-cache')).toBe('hit');
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
      usage ??= chunk.usage;
    }
    expect(text).toBe(whole.text);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('says bypass on error answers too, and refuses an x-taogate-cache it does not know', async () => {
    const unknown = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'x-taogate-cache': 'maybe' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('x-taogate-cache')).toBe('bypass');
    expect(((await unknown.json()) as { error: { param: string } }).error.param).toBe('x-taogate-cache');
  });

  it('shares answers between replicas', async () => {
    const first = await ask(stack.client, 'across replicas');
    const other = await ask(replicaClient, 'across replicas');
    expect([first.cache, other.cache]).toEqual(['miss', 'hit']);
    expect(other.text).toBe(first.text);
  });

  it('makes one upstream call for 100 identical concurrent requests in one process', async () => {
    const before = upstreamCalls(stack.localnet);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => ask(stack.client, 'stampede, one process')),
    );
    expect(upstreamCalls(stack.localnet) - before).toBe(1);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers.filter((a) => a.cache === 'miss').length).toBeGreaterThan(0);
  });

  it('makes one upstream call for 100 identical concurrent requests split over two replicas', async () => {
    const before = upstreamCalls(stack.localnet);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        ask(i % 2 ? replicaClient : stack.client, 'stampede, two replicas'),
      ),
    );
    expect(upstreamCalls(stack.localnet) - before).toBe(1);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  });

  it('gives every streaming caller of a coalesced call the whole stream', async () => {
    const before = upstreamCalls(stack.localnet);
    const texts = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const stream = await stack.client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'a long coalesced stream of words' }],
          temperature: 0,
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        return text;
      }),
    );
    expect(upstreamCalls(stack.localnet) - before).toBe(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toMatch(/heard: a long coalesced stream of words$/);
  });

  it('sends the texts of 50 concurrent embeddings callers upstream in far fewer calls, each caller getting its own vectors', async () => {
    const before = upstreamCalls(stack.localnet, 5);
    const texts = Array.from({ length: 50 }, (_, i) => `embed me, caller ${i}`);
    const answers = await Promise.all(
      texts.map((input) =>
        stack.client.embeddings
          .create({ model: 'sn5/kaito-embed', input, encoding_format: 'float' })
          .withResponse(),
      ),
    );
    const calls = upstreamCalls(stack.localnet, 5) - before;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(10);
    for (const [i, { data }] of answers.entries()) {
      expect(data.data[0]?.embedding.slice(0, 4)).toEqual(textEmbedding(texts[i]!, 512).slice(0, 4));
    }
    expect(answers.map(({ response }) => response.headers.get('x-taogate-cache'))).toContain('miss');
    const again = await stack.client.embeddings
      .create({ model: 'sn5/kaito-embed', input: texts.slice(0, 3) })
      .withResponse();
    expect(again.response.headers.get('x-taogate-cache')).toBe('hit');
    expect(upstreamCalls(stack.localnet, 5) - before).toBe(calls);
  });

  it('reports its memory, hits and misses', async () => {
    const stats = (await (await fetch(`${stack.baseURL}/cache`)).json()) as {
      memory: { entries: number; bytes: number; maxBytes: number };
      requests: { hits: { memory: number }; misses: number; coalesced: number };
      redis: { connected: boolean };
    };
    expect(stats.memory.entries).toBeGreaterThan(0);
    expect(stats.memory.bytes).toBeGreaterThan(0);
    expect(stats.memory.bytes).toBeLessThanOrEqual(stats.memory.maxBytes);
    expect(stats.requests.hits.memory).toBeGreaterThan(0);
    expect(stats.requests.coalesced).toBeGreaterThan(0);
    expect(stats.redis.connected).toBe(true);
    const metrics = await (await fetch(`${stack.baseURL.replace(/\/v1$/, '')}/metrics`)).text();
    expect(metrics).toMatch(/taogate_cache_lookups_total\{[^}]*result="hit"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/^taogate_cache_memory_bytes [1-9]/m);
  });
});

describe('response cache when Redis is slow, goes away and comes back', () => {
  let stack: Stack;
  let redis: ChildProcess;
  let port: number;
  const prefix = uniquePrefix();

  /** A Redis of this test's own (never the shared one), which it may slow down and kill. */
  async function startRedis(): Promise<ChildProcess> {
    const args = [
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--enable-debug-command',
      'yes',
    ];
    const child = spawn('redis-server', [...args, '--daemonize', 'no'], { stdio: 'ignore' });
    await waitForPort(port);
    return child;
  }

  async function cacheStats() {
    const response = await fetch(`${stack.baseURL}/cache`);
    return (await response.json()) as { redis: { connected: boolean; errors: number } };
  }

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis();
    stack = await startStack({
      env: { ...BASE_ENV, TAOGATE_REDIS_URL: `redis://127.0.0.1:${port}`, TAOGATE_CACHE_PREFIX: prefix },
    });
  });
  afterAll(async () => {
    redis?.kill('SIGKILL');
    await stack?.close();
  });

  it('does not wait on a Redis that stopped answering beyond its command timeout', async () => {
    const sleeper = new Redis({ port });
    const sleeping = sleeper.call('DEBUG', 'SLEEP', '1.5');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const answer = await ask(stack.client, 'while redis sleeps');
    expect(answer.cache).toBe('miss');
    expect(performance.now() - started).toBeLessThan(1000);
    await sleeping;
    sleeper.disconnect();
    expect((await cacheStats()).redis.errors).toBeGreaterThan(0);
  });

  it('keeps answering from memory and upstream while Redis is down, and counts what it missed', async () => {
    expect((await ask(stack.client, 'before the outage')).cache).toBe('miss');
    const errorsBefore = (await cacheStats()).redis.errors;
    redis.kill('SIGKILL');
    await once(redis, 'exit');
    const results = await Promise.all([
      ask(stack.client, 'before the outage'),
      ask(stack.client, 'during the outage'),
      ask(stack.client, 'during the outage, too'),
    ]);
    expect(results.map((r) => r.cache)).toEqual(['hit', 'miss', 'miss']);
    expect((await ask(stack.client, 'during the outage')).cache).toBe('hit');
    const stats = await cacheStats();
    expect(stats.redis.connected).toBe(false);
    expect(stats.redis.errors).toBeGreaterThan(errorsBefore);
  });

  it('uses Redis again once it is back', async () => {
    redis = await startRedis();
    await expect
      .poll(async () => (await cacheStats()).redis.connected, { timeout: 5000, interval: 100 })
      .toBe(true);
    expect((await ask(stack.client, 'after the outage')).cache).toBe('miss');
    const direct = new Redis({ port });
    await expect
      .poll(async () => (await direct.keys(`${prefix}*`)).length, { timeout: 2000 })
      .toBeGreaterThan(0);
    direct.disconnect();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  const client = new Redis({ port, lazyConnect: true, retryStrategy: () => 20, maxRetriesPerRequest: null });
  client.on('error', () => {});
  await client.ping();
  client.disconnect();
}
