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
    const texts = await Promise.all(readers);
    await closing;
    expect(late).toBe('refused');
    texts.forEach((text, i) => {
      expect(text).toMatch(new RegExp(`^sn1 miner \\d heard: stream number ${i} of many words$`));
    });
  });
});
