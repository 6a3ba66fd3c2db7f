import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAiSubnetProfile } from '../config/index.ts';
import { type Miner, startOpenAiUpstream } from '../localnet/index.ts';
import { endpointCandidates } from '../router/candidates.ts';
import { createAdapterRegistry, type MinerTarget, UpstreamError } from './index.ts';
import type { Adapter, CompleteAdapter } from './types.ts';

const KEY = 'sk-adapter-test';
const signal = () => new AbortController().signal;

function profileFor(baseUrls: string[]): OpenAiSubnetProfile {
  return {
    netuid: 64,
    name: 'operator',
    task: 'chat',
    models: ['m'],
    timeoutSeconds: 5,
    price: { perRequest: 0, perThousandInputTokens: 0, perThousandOutputTokens: 0, perImage: 0 },
    fallback: [],
    checks: { minTextChars: 1, unitNorm: false, imageFormats: ['png'], maxImageBytes: 1 << 20 },
    protocol: 'openai',
    upstream: { baseUrls, apiKeyEnv: 'KEY', models: { m: 'bench-model' } },
  };
}

function targetOf(baseUrl: string): MinerTarget {
  const [candidate] = endpointCandidates(profileFor([baseUrl]), { allowLoopback: true }).candidates;
  return candidate!;
}

async function failureOf(pending: Promise<unknown>): Promise<UpstreamError> {
  const error = await pending
    .then(async (answer) => {
      if (answer && typeof answer === 'object' && Symbol.asyncIterator in answer) {
        for await (const _ of answer as AsyncIterable<unknown>);
      }
    })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('the OpenAI-compatible (bearer) adapter', () => {
  let upstream: Miner;
  const registries = [
    createAdapterRegistry({ env: { KEY }, dialPolicy: { allowLoopback: true }, ...unusedMinerDeps() }),
    createAdapterRegistry({ env: { KEY }, dialPolicy: { allowLoopback: false }, ...unusedMinerDeps() }),
  ];
  const [open, guarded] = registries.map(
    (registry) => (baseUrl: string) =>
      registry.adapterFor({ ...profileFor([baseUrl]), netuid: Math.floor(Math.random() * 1e6) }),
  ) as [(url: string) => Adapter, (url: string) => Adapter];

  beforeAll(async () => {
    upstream = await startOpenAiUpstream({ apiKey: KEY, model: 'bench-model', netuid: 64, uid: 7 });
  });
  afterAll(async () => {
    await upstream.close();
    await Promise.all(registries.map((registry) => registry.close()));
  });

  it('sends the key and the upstream model name, and reads a whole answer when asked for one', async () => {
    const base = `http://127.0.0.1:${upstream.port}/v1`;
    const text = await open(base).chat!(
      targetOf(base),
      { messages: [{ role: 'user', content: 'ok?' }] },
      {
        signal: signal(),
        timeoutMs: 5000,
        whole: true,
      },
    );
    const chunks: string[] = [];
    for await (const chunk of text) chunks.push(chunk);
    expect(chunks).toEqual(['sn64 miner 7 heard: ok?']);
  });

  it('dials a host name only if every address it resolves to is allowed: localhost is loopback', async () => {
    const base = `http://localhost:${upstream.port}/v1`;
    const ask = (adapter: Adapter) =>
      adapter.embeddings!(targetOf(base), { inputs: ['x'] }, { signal: signal(), timeoutMs: 5000 });
    expect((await ask(open(base))).vectors[0]).toHaveLength(256);
    const refused = await failureOf(ask(guarded(base)));
    expect(refused.code).toBe('upstream_unreachable');
    expect(refused.message).toContain('resolves to no address the gateway may dial');
  });

  it('never repeats any part of the key from an upstream’s error message', async () => {
    const wrong = await startOpenAiUpstream({
      apiKey: 'sk-another',
      model: 'bench-model',
      netuid: 64,
      uid: 8,
    });
    try {
      const base = `http://127.0.0.1:${wrong.port}/v1`;
      const refused = await failureOf(
        open(base).embeddings!(targetOf(base), { inputs: ['x'] }, { signal: signal(), timeoutMs: 5000 }),
      );
      expect(refused).toMatchObject({ code: 'upstream_rejected', status: 401 });
      expect(refused.message).toBe('upstream answered 401: the upstream refused the gateway’s key');
      expect(refused.message).not.toContain(KEY.slice(3));
    } finally {
      await wrong.close();
    }
  });

  it('never lists an endpoint whose IP literal the dial policy refuses', () => {
    const set = endpointCandidates(profileFor(['http://127.0.0.1:1/v1', 'http://169.254.169.254/v1']), {});
    expect(set.candidates).toEqual([]);
    expect(set.refused.map((refused) => refused.reason)).toEqual(['loopback', 'link-local']);
  });

  describe('rejects a malformed answer as upstream_invalid, whatever the task', () => {
    const servers: Server[] = [];
    async function serving(status: number, body: string | ((response: ServerResponse) => void)) {
      const server = createServer((_, response) => {
        if (typeof body !== 'string') return body(response);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body);
      });
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      return { adapter: open(base) as CompleteAdapter, target: targetOf(base) };
    }
    afterAll(() => {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    });
    const call = { signal: signal(), timeoutMs: 10_000, whole: true };
    const calls = {
      chat: (a: CompleteAdapter, t: MinerTarget) =>
        a.chat(t, { messages: [{ role: 'user', content: 'x' }] }, call),
      embeddings: (a: CompleteAdapter, t: MinerTarget) => a.embeddings(t, { inputs: ['x', 'y'] }, call),
      images: (a: CompleteAdapter, t: MinerTarget) =>
        a.images(t, { prompt: 'p', n: 1, width: 8, height: 8 }, call),
    };
    const endless = (response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const block = `{"data":[${'0.1,'.repeat(16_000)}`;
      const pump = () => {
        while (!response.destroyed && response.write(block)) {}
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    };
    const answers: [string, string | ((response: ServerResponse) => void), RegExp][] = [
      ['not JSON', '<html>502 Bad Gateway</html>', /not JSON/],
      ['truncated', '{"data": [{"index": 0, "embedding": [0.1, ', /not JSON/],
      ['of the wrong shape', '{"data": {"b64_json": 42}, "choices": "no"}', /is not/],
      ['oversized (past the 8 MiB cap)', endless, /oversized/],
    ];
    for (const [task, ask] of Object.entries(calls)) {
      for (const [what, body, message] of answers) {
        it(`${task}: ${what}`, async () => {
          const { adapter, target } = await serving(200, body);
          const error = await failureOf(ask(adapter, target));
          expect(error.code).toBe('upstream_invalid');
          expect(error.message).toMatch(message);
        });
      }
    }
    it('images: base64 that is no image', async () => {
      const { adapter, target } = await serving(
        200,
        JSON.stringify({ data: [{ b64_json: 'aGVsbG8gd29ybGQ=' }] }),
      );
      const error = await failureOf(calls.images(adapter, target));
      expect(error).toMatchObject({
        code: 'upstream_invalid',
        message: 'the image is neither PNG, JPEG nor WebP',
      });
    });
  });
});

/** The registry's miner-side dependencies, unused by OpenAI-compatible profiles. */
function unusedMinerDeps() {
  return {
    hotkey: undefined as never,
    dendriteIp: '0.0.0.0',
    dispatcher: undefined as never,
  };
}
