import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES_PATH } from '../config/index.ts';
import { always, HEALTHY, type Miner, startOpenAiUpstream, textEmbedding } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';

const KEY_VARIABLE = 'TAOGATE_TEST_UPSTREAM_KEY';
const KEY = 'sk-test-upstream-key';

/** The shipped profiles plus OpenAI-compatible profiles (chat, embeddings) over the given endpoints. */
function profilesWithUpstreams(ports: number[]): string {
  const shipped = JSON.parse(readFileSync(DEFAULT_PROFILES_PATH, 'utf8')) as { subnets: unknown[] };
  const upstream = {
    baseUrls: ports.map((port) => `http://127.0.0.1:${port}/v1`),
    apiKeyEnv: KEY_VARIABLE,
    models: { 'bench-chat': 'bench-model', 'bench-embed': 'bench-model' },
  };
  const common = { protocol: 'openai', timeoutSeconds: 5, upstream };
  const subnets = [
    ...shipped.subnets,
    { ...common, netuid: 64, name: 'operator-chat', task: 'chat', models: ['bench-chat'] },
    {
      ...common,
      netuid: 164,
      name: 'operator-embeddings',
      task: 'embeddings',
      models: ['bench-embed'],
      embeddings: { dimensions: 256, maxBatchInputs: 8 },
    },
  ];
  const path = join(mkdtempSync(join(tmpdir(), 'taogate-upstreams-')), 'subnets.json');
  writeFileSync(path, JSON.stringify({ subnets }));
  return path;
}

describe('OpenAI-compatible upstreams with a bearer key, through the gateway', () => {
  let upstreams: Miner[];
  let stack: Stack;

  beforeAll(async () => {
    process.env[KEY_VARIABLE] = KEY;
    upstreams = await Promise.all(
      [1, 2].map((uid) => startOpenAiUpstream({ apiKey: KEY, model: 'bench-model', netuid: 64, uid })),
    );
    const profiles = profilesWithUpstreams(upstreams.map((upstream) => upstream.port));
    stack = await startStack({
      // Breakers stay closed and the budget open: each case meets every endpoint's answer.
      env: {
        TAOGATE_PROFILES: profiles,
        TAOGATE_HEDGE: 'off',
        TAOGATE_CACHE: 'off',
        TAOGATE_BREAKER_FAILURES: '1000',
        TAOGATE_RETRY_BUDGET_FLOOR: '1000',
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await Promise.all(upstreams.map((upstream) => upstream.close()));
    delete process.env[KEY_VARIABLE];
  });
  beforeEach(() => {
    for (const upstream of upstreams) upstream.behaviour = { ...HEALTHY, latencyMs: 0, jitterMs: 0 };
  });

  it('passes a chat completion through, under the upstream’s model name, with the key', async () => {
    const { data, response } = await stack.client.chat.completions
      .create({ model: 'sn64/bench-chat', messages: [{ role: 'user', content: 'hi there' }] })
      .withResponse();
    expect(data.model).toBe('sn64/bench-chat');
    expect(data.choices[0]!.message.content).toMatch(/^sn64 miner [12] heard: hi there$/);
    expect(response.headers.get('x-taogate-miner')).toMatch(/^sn64\/uid[01]$/);
  });

  it('streams a chat completion as it arrives', async () => {
    const stream = await stack.client.chat.completions.create({
      model: 'sn64/bench-chat',
      messages: [{ role: 'user', content: 'stream this please' }],
      stream: true,
    });
    const deltas: string[] = [];
    for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? '');
    expect(deltas.join('')).toMatch(/^sn64 miner [12] heard: stream this please$/);
    expect(deltas.filter(Boolean).length).toBeGreaterThan(3);
  });

  it('embeds through the upstream, with its token count', async () => {
    const data = await stack.client.embeddings.create({ model: 'sn164/bench-embed', input: ['a', 'b c'] });
    expect(data.data.map((item) => item.embedding.length)).toEqual([256, 256]);
    expect(data.data[1]!.embedding[0]).toBeCloseTo(textEmbedding('b c', 256)[0]!, 6);
    expect(data.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('answers 502 when every endpoint fails, naming the upstream’s own error', async () => {
    for (const upstream of upstreams) upstream.behaviour = { ...upstream.behaviour, errorRate: 1 };
    const response = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'sn64/bench-chat', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(502);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('upstream_exhausted');
    expect(error.message).toContain('upstream answered 500: The server had an error');
  });

  it('answers 502 once every endpoint sent a malformed answer, for chat and embeddings alike', async () => {
    const cases = [
      {
        path: 'chat/completions',
        body: { model: 'sn64/bench-chat', messages: [{ role: 'user', content: 'x' }] },
      },
      { path: 'embeddings', body: { model: 'sn164/bench-embed', input: 'x' } },
    ];
    for (const faults of [
      ['truncated', 'mislabelled'],
      ['garbage', 'huge'],
    ] as const) {
      faults.forEach((fault, i) => {
        upstreams[i]!.behaviour = { ...HEALTHY, latencyMs: 0, jitterMs: 0, ...always(fault) };
      });
      for (const { path, body } of cases) {
        const response = await fetch(`${stack.baseURL}/${path}`, {
          method: 'POST',
          body: JSON.stringify(body),
        });
        expect(response.status).toBe(502);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        expect(error).toMatchObject({ code: 'upstream_exhausted' });
        expect(error.message).toMatch(/All 2 miners tried.*upstream_invalid/);
      }
    }
  });

  it('fails over to the other endpoint when one refuses the key or fails', async () => {
    upstreams[0]!.behaviour = { ...upstreams[0]!.behaviour, errorRate: 1 };
    for (let i = 0; i < 6; i++) {
      const { response } = await stack.client.chat.completions
        .create({ model: 'sn64/bench-chat', messages: [{ role: 'user', content: `try ${i}` }] })
        .withResponse();
      expect(response.headers.get('x-taogate-miner')).toBe('sn64/uid1');
    }
  });
});
