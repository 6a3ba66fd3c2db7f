import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// config/subnets.json: sn1/apex-chat falls back to sn61/apex-openai. Here every sn1 miner answers 500.
describe('a subnet that cannot answer', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: { TAOGATE_HEDGE: 'off' },
      localnet: { minersPerSubnet: 2, behaviour: (netuid) => (netuid === 1 ? { errorRate: 1 } : undefined) },
    });
  });
  afterAll(() => stack.close());

  it('is stood in for by its fallback model, and the answer says so', async () => {
    const { data, response } = await stack.client.chat.completions
      .create({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: 'anyone?' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toMatch(/^sn61 miner \d heard: anyone\?$/);
    expect(data.model).toBe('sn61/apex-openai');
    expect(response.headers.get('x-taogate-fallback')).toBe('sn61/apex-openai');
    expect(response.headers.get('x-taogate-miner')).toMatch(/^sn61\//);
  });

  it('streams from the fallback too', async () => {
    const stream = await stack.client.chat.completions.create({
      model: 'sn1/apex-chat',
      messages: [{ role: 'user', content: 'stream?' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/^sn61 miner \d heard: stream\?$/);
  });

  it('leaves models without a fallback failing as before', async () => {
    await stack.localnet.miner(18, 1).close();
    await stack.localnet.miner(18, 2).close();
    const error = await stack.client.chat.completions
      .create({ model: 'sn18/cortex-chat', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });
});
