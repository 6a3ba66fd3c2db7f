import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MinerBehaviour } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';

// sn61's miners are OpenAI-compatible servers behind Epistula; its top-incentive miner serves with a
// rotated hotkey, so every request signed for its registered hotkey fails with 401.
const staged = (netuid: number, uid: number): Partial<MinerBehaviour> | undefined =>
  netuid === 61 && uid === 1 ? { wrongHotkey: true } : undefined;

describe('an Epistula subnet through the gateway, with the official OpenAI client', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      localnet: { minersPerSubnet: 2, behaviour: staged },
      // The rejecting miner must keep being chosen first for failover to be seen: weights from the chain alone
      // (no reranker, which learns to avoid it) and no breaker opening on it within this file's requests.
      env: {
        TAOGATE_ROUTING_WEIGHTS: 'incentive',
        TAOGATE_RERANKER_MODEL: 'off',
        TAOGATE_BREAKER_FAILURES: '1000',
      },
    });
  });
  afterAll(() => stack.close());

  it('lists the subnet model', async () => {
    const ids = [];
    for await (const model of stack.client.models.list()) ids.push(model.id);
    expect(ids).toContain('sn61/apex-openai');
  });

  it('answers a non-streaming request from a miner that checked the signature', async () => {
    const { data, response } = await stack.client.chat.completions
      .create({ model: 'sn61/apex-openai', messages: [{ role: 'user', content: "it's signed" }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBe("sn61 miner 2 heard: it's signed");
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(response.headers.get('x-taogate-miner')).toBe('sn61/uid2');
  });

  it('streams the miner’s answer as OpenAI chunks', async () => {
    const stream = await stack.client.chat.completions.create({
      model: 'sn61/apex-openai',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'stream me, ünïcödé ✓' },
      ],
      stream: true,
      temperature: 0.3,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('sn61 miner 2 heard: stream me, ünïcödé ✓');
    expect(chunks).toBeGreaterThan(4);
  });

  it('fails over to another miner when one rejects the gateway signature', async () => {
    const attempts: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { data, response } = await stack.client.chat.completions
        .create({ model: 'sn61/apex-openai', messages: [{ role: 'user', content: `try ${i}` }] })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe(`sn61 miner 2 heard: try ${i}`);
      attempts.push(response.headers.get('x-taogate-attempts')!);
    }
    expect(stack.localnet.miner(61, 1).received).toBeGreaterThan(0);
    expect(attempts).toContain('2');
  });
});
