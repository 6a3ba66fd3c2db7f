import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MinerBehaviour } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';

// sn1: its top-incentive miner serves with a rotated hotkey (every signature fails with 401);
// sn18: every miner answers 500; sn4: every miner hangs.
const staged = (netuid: number, uid: number): Partial<MinerBehaviour> | undefined => {
  if (netuid === 1 && uid === 1) return { wrongHotkey: true };
  if (netuid === 18) return { errorRate: 1 };
  if (netuid === 4) return { hangRate: 1 };
  return undefined;
};

describe('failing miners', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: { TAOGATE_DEADLINE_MS: '800', TAOGATE_MAX_ATTEMPTS: '2' },
      localnet: { minersPerSubnet: 2, behaviour: staged },
    });
  });
  afterAll(() => stack.close());

  it('fail over to another miner when one rejects the gateway signature', async () => {
    const attempts: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { data, response } = await stack.client.chat.completions
        .create({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: `try ${i}` }] })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe(`sn1 miner 2 heard: try ${i}`);
      attempts.push(response.headers.get('x-taogate-attempts')!);
    }
    expect(stack.localnet.miner(1, 1).received).toBeGreaterThan(0);
    expect(attempts).toContain('2');
  });

  it('fail over mid-way for streams too, before the first chunk', async () => {
    for (let i = 0; i < 6; i++) {
      const stream = await stack.client.chat.completions.create({
        model: 'sn1/apex-chat',
        messages: [{ role: 'user', content: 'stream' }],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('sn1 miner 2 heard: stream');
    }
  });

  it('end in a 502 naming the cause when every miner tried fails, after at most the configured attempts', async () => {
    const before = stack.localnet.miners().reduce((sum, miner) => sum + miner.received, 0);
    const error = await stack.client.chat.completions
      .create({ model: 'sn18/cortex-chat', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_exhausted');
    expect((error as Error).message).toMatch(/axon answered 500/);
    const after = stack.localnet.miners().reduce((sum, miner) => sum + miner.received, 0);
    expect(after - before).toBe(2);
  });

  it('answer 504 once the request deadline passes, without waiting for hung miners', async () => {
    const started = performance.now();
    const error = await stack.client.chat.completions
      .create({ model: 'sn4/targon-chat', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('deadline_exceeded');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('cancel the upstream call when the client goes away', async () => {
    const controller = new AbortController();
    const pending = fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sn4/targon-chat', messages: [{ role: 'user', content: 'x' }] }),
      signal: controller.signal,
    }).catch(() => 'aborted');
    const hung = [stack.localnet.miner(4, 1), stack.localnet.miner(4, 2)];
    await vi.waitFor(() => expect(hung[0]!.inFlight + hung[1]!.inFlight).toBe(1), {
      timeout: 500,
      interval: 10,
    });
    const abortedAt = performance.now();
    controller.abort();
    expect(await pending).toBe('aborted');
    await vi.waitFor(() => expect(hung[0]!.inFlight + hung[1]!.inFlight).toBe(0), {
      timeout: 500,
      interval: 10,
    });
    // well before the 800 ms deadline would have closed it
    expect(performance.now() - abortedAt).toBeLessThan(300);
  });
});
