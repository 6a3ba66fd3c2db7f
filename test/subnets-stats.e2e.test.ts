import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

describe('the subnets stats API', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      // A day-long half-life: the counts below then equal the traffic sent.
      env: { TAOGATE_STATS_HALF_LIFE_MS: '86400000' },
      localnet: {
        minersPerSubnet: 3,
        behaviour: (netuid, uid) => (netuid === 18 && uid === 1 ? { errorRate: 1 } : undefined),
      },
    });
  });
  afterAll(() => stack.close());

  async function get(path: string) {
    const response = await fetch(`${stack.gateway.url}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('is ready once the metagraph is loaded', async () => {
    expect(await get('/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('lists every routable subnet with what is on chain', async () => {
    const { body } = await get('/v1/subnets');
    const data = body.data as Record<string, unknown>[];
    expect(data.map((subnet) => subnet.netuid)).toEqual(expect.arrayContaining([1, 18, 4]));
    expect(data.find((subnet) => subnet.netuid === 1)).toMatchObject({
      name: 'apex',
      protocol: 'synapse',
      models: ['sn1/apex-chat'],
      neurons: 4, // the gateway's own validator and three miners
      routable_miners: 3,
    });
  });

  it('agrees with the traffic sent: successes on healthy miners, failures on the broken one', async () => {
    for (let i = 0; i < 20; i++) {
      await stack.client.chat.completions.create({
        model: 'sn18/cortex-chat',
        messages: [{ role: 'user', content: `n${i}` }],
      });
    }
    const { status, body } = await get('/v1/subnets/18');
    expect(status).toBe(200);
    const miners = body.miners as {
      uid: number;
      successes: number;
      failures: number;
      on_chain_rank: number;
    }[];
    const broken = miners.find((miner) => miner.uid === 1)!;
    expect(broken.on_chain_rank).toBe(1);
    expect(broken.successes).toBe(0);
    expect(broken.failures).toBeGreaterThan(0);
    const healthySuccesses = miners.filter((m) => m.uid !== 1).reduce((sum, m) => sum + m.successes, 0);
    expect(healthySuccesses).toBeCloseTo(20, 1);
    expect((body.observed as { success_rate: number }).success_rate).toBeLessThan(1);
  });

  it('answers an unknown subnet with a 404 in OpenAI shape', async () => {
    expect(await get('/v1/subnets/999')).toMatchObject({
      status: 404,
      body: { error: { code: 'subnet_not_found' } },
    });
  });
});
