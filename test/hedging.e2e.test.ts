import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MinerBehaviour } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';

const WARM_UP_SAMPLES = 10;
/** Far above any healthy first chunk, and above the time the assertions allow. */
const SLOW_MS = 3000;

// sn4: miner 2 answers garbage to everything. Everyone else is healthy until a test slows sn1's miner 1.
const staged = (netuid: number, uid: number): Partial<MinerBehaviour> | undefined =>
  netuid === 4 && uid === 2 ? { garbageRate: 1 } : undefined;

describe('hedging and fan-out', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        TAOGATE_DEADLINE_MS: '10000',
        TAOGATE_MAX_ATTEMPTS: '2',
        TAOGATE_HEDGE_MIN_SAMPLES: String(WARM_UP_SAMPLES),
        TAOGATE_HEDGE_MIN_MS: '50',
        TAOGATE_RETRY_BUDGET_FLOOR: '1000',
        // The first test needs the slow miner to be picked first now and then: weights from its incentive
        // alone. Blended weights and the reranker may avoid it for all 30 tries (a CI run saw none).
        TAOGATE_ROUTING_WEIGHTS: 'incentive',
        TAOGATE_RERANKER_MODEL: 'off',
      },
      localnet: { minersPerSubnet: 3, behaviour: staged },
    });
  });
  afterAll(() => stack?.close());

  it('answer fast through a second miner when the first is slow, and release the slow one', async () => {
    for (let i = 0; i < WARM_UP_SAMPLES; i++) await ask('sn1/apex-chat', `warm ${i}`);
    const slow = stack.localnet.miner(1, 1);
    slow.behaviour = { ...slow.behaviour, latencyMs: SLOW_MS };

    // The slow miner has the top incentive: about every other request goes to it first.
    let hedged: Awaited<ReturnType<typeof ask>> | undefined;
    for (let i = 0; i < 30 && !hedged; i++) {
      const reply = await ask('sn1/apex-chat', `try ${i}`);
      if (reply.response.headers.get('x-taogate-hedged') === '1') hedged = reply;
    }
    expect(hedged).toBeDefined();
    expect(hedged!.elapsedMs).toBeLessThan(SLOW_MS / 2);
    expect(hedged!.response.headers.get('x-taogate-miner')).not.toBe('sn1/uid1');
    expect(hedged!.data.choices[0]?.message.content).toMatch(/^sn1 miner [23] heard: try \d+$/);
    // Cancelled, not left to finish its SLOW_MS.
    await vi.waitFor(() => expect(slow.inFlight).toBe(0), { timeout: SLOW_MS / 3, interval: 10 });

    const stats = (await (await fetch(`${stack.baseURL}/subnets/1`)).json()) as {
      miners: { uid: number; failures: number }[];
    };
    expect(stats.miners.find((miner) => miner.uid === 1)?.failures).toBe(0);
  });

  it('answer a fan-out of 3 with one completion, naming the 3 miners asked', async () => {
    const { data, response } = await ask('sn18/cortex-chat', 'best of three', 3);
    expect(data.choices).toHaveLength(1);
    expect(data.choices[0]?.message.content).toMatch(/^sn18 miner [123] heard: best of three$/);
    const asked = response.headers.get('x-taogate-fanout-miners')!.split(',');
    expect(asked.sort()).toEqual(['sn18/uid1', 'sn18/uid2', 'sn18/uid3']);
    expect(asked).toContain(response.headers.get('x-taogate-miner'));
    expect(response.headers.get('x-taogate-fanout-verdicts')!.split(',').sort()).toEqual([
      'outranked',
      'outranked',
      'won',
    ]);
  });

  it('never let a miner answering garbage win a fan-out', async () => {
    for (let i = 0; i < 5; i++) {
      const { data, response } = await ask('sn4/targon-chat', `pick ${i}`, 3);
      expect(response.headers.get('x-taogate-miner')).not.toBe('sn4/uid2');
      expect(data.choices[0]?.message.content).toMatch(new RegExp(`^sn4 miner [13] heard: pick ${i}$`));
    }
  });

  it('refuse a fan-out on a streamed request with a 400 naming the parameter', async () => {
    const response = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sn1/apex-chat',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
        taogate: { fanout: 2 },
      }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { param: string; code: string } };
    expect(body.error).toMatchObject({ param: 'taogate.fanout', code: 'fanout_requires_complete_answers' });
  });

  async function ask(model: string, content: string, fanout?: number) {
    const started = performance.now();
    const { data, response } = await stack.client.chat.completions
      .create(
        { model, messages: [{ role: 'user', content }] },
        fanout ? { headers: { 'x-taogate-fanout': String(fanout) } } : {},
      )
      .withResponse();
    return { data, response, elapsedMs: performance.now() - started };
  }
});
