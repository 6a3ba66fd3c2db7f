import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Hotkey, hotkeyFromSecret } from '../bittensor/index.ts';
import { HEALTHY, type Miner, startEpistulaMiner } from '../localnet/index.ts';
import { createEpistulaAdapter } from './epistula-adapter.ts';
import { MAX_UPSTREAM_BYTES, UpstreamError } from './index.ts';
import type { CompleteAdapter, MinerTarget } from './types.ts';

describe('the Epistula adapter', () => {
  const dispatcher = new Agent();
  let minerKey: Hotkey;
  let miner: Miner;
  let adapter: CompleteAdapter;
  let target: MinerTarget;

  beforeAll(async () => {
    const gateway = await hotkeyFromSecret('//taogate');
    minerKey = await hotkeyFromSecret('//miner');
    miner = await startEpistulaMiner({
      netuid: 61,
      uid: 3,
      hotkey: minerKey,
      rogueHotkey: await hotkeyFromSecret('//rogue'),
      model: 'apex',
      isAllowedCaller: (hotkey) => hotkey === gateway.ss58,
    });
    adapter = createEpistulaAdapter({ model: 'apex', hotkey: gateway, dispatcher });
    target = { netuid: 61, uid: 3, hotkey: minerKey.ss58, ip: '127.0.0.1', port: miner.port };
  });
  beforeEach(() => {
    miner.behaviour = { ...HEALTHY, latencyMs: 0, jitterMs: 0 };
  });
  afterAll(async () => {
    await miner.close();
    await dispatcher.close();
  });

  const ask = (content: string, to: MinerTarget = target, timeoutMs = 5000) =>
    adapter.chat(
      to,
      { messages: [{ role: 'user', content }], temperature: 0.2 },
      {
        signal: new AbortController().signal,
        timeoutMs,
      },
    );

  async function textOf(pending: Promise<AsyncIterable<string>>): Promise<string> {
    let text = '';
    for await (const chunk of await pending) text += chunk;
    return text;
  }

  async function failureOf(pending: Promise<AsyncIterable<string>>): Promise<UpstreamError> {
    const error = await textOf(pending).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    return error as UpstreamError;
  }

  it('streams the text of a signed OpenAI chat completion, chunk by chunk', async () => {
    const chunks: string[] = [];
    for await (const chunk of await ask('stream ünïcödé')) chunks.push(chunk);
    expect(chunks.join('')).toBe('sn61 miner 3 heard: stream ünïcödé');
    expect(chunks.length).toBeGreaterThan(3);
  });

  it('reads a whole chat completion when the client reads the answer whole', async () => {
    const whole = adapter.chat(
      target,
      { messages: [{ role: 'user', content: 'at once' }] },
      {
        signal: new AbortController().signal,
        timeoutMs: 5000,
        whole: true,
      },
    );
    const chunks: string[] = [];
    for await (const chunk of await whole) chunks.push(chunk);
    expect(chunks).toEqual(['sn61 miner 3 heard: at once']);
  });

  it('signs embeddings and image requests too, and reads their answers', async () => {
    const call = { signal: new AbortController().signal, timeoutMs: 5000 };
    const embedded = await adapter.embeddings(target, { inputs: ['one', 'two'], dimensions: 16 }, call);
    expect(embedded.vectors.map((vector) => vector.length)).toEqual([16, 16]);
    expect(embedded.promptTokens).toBeGreaterThan(0);
    const drawn = await adapter.images(target, { prompt: 'a kite', n: 2, width: 32, height: 16 }, call);
    expect(drawn.images.map((image) => image.format)).toEqual(['png', 'png']);
  });

  it('reports a miner that refuses its signature as upstream_rejected with the status and the reason', async () => {
    miner.behaviour = { ...miner.behaviour, wrongHotkey: true };
    const error = await failureOf(ask('x'));
    expect(error).toMatchObject({ code: 'upstream_rejected', status: 401 });
    expect(error.message).toBe('miner answered 401: Bad Request, message is not intended for self');
  });

  it('reports a miner answering 500 as upstream_rejected', async () => {
    miner.behaviour = { ...miner.behaviour, errorRate: 1 };
    expect(await failureOf(ask('x'))).toMatchObject({ code: 'upstream_rejected', status: 500 });
  });

  it('reports a malformed stream as upstream_invalid', async () => {
    miner.behaviour = { ...miner.behaviour, garbageRate: 1 };
    expect(await failureOf(ask('x'))).toMatchObject({ code: 'upstream_invalid' });
  });

  it('gives up on a miner that does not answer within the attempt', async () => {
    miner.behaviour = { ...miner.behaviour, hangRate: 1 };
    expect(await failureOf(ask('x', target, 200))).toMatchObject({ code: 'upstream_timeout' });
  });

  describe('against servers that misbehave in ways the localnet miner does not', () => {
    const servers: Server[] = [];
    async function serving(handler: (response: ServerResponse) => void): Promise<MinerTarget> {
      const server = createServer((_, response) => handler(response));
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return { ...target, port: (server.address() as AddressInfo).port };
    }
    afterAll(() => {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    });

    it('calls a well-formed stream without any text an empty answer', async () => {
      const silent = await serving((response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(
          'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\ndata: [DONE]\n\n',
        );
      });
      const error = await failureOf(ask('x', silent));
      expect(error).toMatchObject({ code: 'upstream_invalid', message: 'the miner sent an empty answer' });
    });

    it(`cuts off a stream past ${MAX_UPSTREAM_BYTES} bytes as upstream_invalid`, async () => {
      const event = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'x'.repeat(60_000) } }] })}\n\n`;
      const endless = await serving((response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const pump = () => {
          while (!response.destroyed && response.write(event)) {}
          if (!response.destroyed) response.once('drain', pump);
        };
        pump();
      });
      const error = await failureOf(ask('x', endless, 10_000));
      expect(error).toMatchObject({
        code: 'upstream_invalid',
        message: 'the miner sent an oversized answer',
      });
    });
  });
});
