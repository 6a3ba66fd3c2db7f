import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

describe('shutting down', () => {
  let stack: Stack;

  beforeAll(async () => {
    // sn1 streams slowly: about 30 ms between words.
    stack = await startStack({
      localnet: { behaviour: (netuid) => (netuid === 1 ? { chunkDelayMs: 30 } : undefined) },
    });
  });
  afterAll(() => stack.localnet.close());

  it('lets every stream in flight finish, and takes no new requests', async () => {
    const client = stack.client;
    const streams = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.chat.completions.create({
          model: 'sn1/apex-chat',
          messages: [{ role: 'user', content: `stream number ${i} of many words` }],
          stream: true,
        }),
      ),
    );
    const readers = streams.map(async (stream) => {
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    });
    const closing = stack.gateway.close(10_000);
    const late = await fetch(`${stack.baseURL}/models`).then(
      () => 'answered',
      () => 'refused',
    );
    // Load balancers that still ask (on a kept-alive connection) hear that this replica is going.
    const readiness = await stack.gateway.app.request('/readyz');
    const texts = await Promise.all(readers);
    await closing;
    expect(late).toBe('refused');
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ status: 'draining' });
    texts.forEach((text, i) => {
      expect(text).toMatch(new RegExp(`^sn1 miner \\d heard: stream number ${i} of many words$`));
    });
  });
});

describe('shutting down past the drain timeout', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      localnet: { behaviour: (netuid) => (netuid === 1 ? { chunkDelayMs: 30 } : undefined) },
    });
  });
  afterAll(() => stack.localnet.close());

  it('answers requests still waiting with a 503 to retry, in OpenAI shape', async () => {
    // Each answer needs 100 words at 30 ms: far past the 200 ms the drain allows.
    const prompt = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    const waiting = Array.from({ length: 5 }, () =>
      fetch(`${stack.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: prompt }] }),
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const closing = stack.gateway.close(200);
    const responses = await Promise.all(waiting);
    await closing;
    for (const response of responses) {
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(await response.json()).toMatchObject({
        error: { type: 'server_error', code: 'server_shutting_down' },
      });
    }
  });
});
