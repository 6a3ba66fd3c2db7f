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

  it('counts requests, errors, latency quantiles and cache hits exactly as sent', async () => {
    const before = (await get('/v1/subnets/4')).body.traffic as { requests: number };
    const ask = (content: string, extra: Record<string, unknown> = {}) =>
      stack.client.chat.completions.create({
        model: 'sn4/targon-chat',
        messages: [{ role: 'user', content }],
        ...extra,
      });
    for (let i = 0; i < 6; i++) await ask(`varied ${i}`);
    // Deterministic requests are cached: the first is a miss, the two after it hits.
    for (let i = 0; i < 3; i++) await ask('the same question', { temperature: 0 });

    const { body } = await get('/v1/subnets/4');
    const traffic = body.traffic as {
      requests: number;
      errors: number;
      success_rate: number;
      latency_ms: { p50: number; p95: number; p99: number };
      first_token_ms: { p50: number };
      cache: { hits: number; misses: number; hit_rate: number };
    };
    expect(traffic.requests - before.requests).toBe(9);
    expect(traffic.errors).toBe(0);
    expect(traffic.success_rate).toBe(1);
    expect(traffic.cache).toEqual({ hits: 2, misses: 1, hit_rate: 2 / 3 });
    expect(traffic.latency_ms.p50).toBeGreaterThan(0);
    expect(traffic.latency_ms.p50).toBeLessThanOrEqual(traffic.latency_ms.p95);
    expect(traffic.latency_ms.p95).toBeLessThanOrEqual(traffic.latency_ms.p99);
    expect(traffic.first_token_ms.p50).toBeGreaterThan(0);
    expect(body.active_miners).toBeGreaterThan(0);
    expect(body.active_miners).toBeLessThanOrEqual(body.routable_miners as number);

    // The list carries the same numbers, and the 10-minute series adds up to them.
    const list = (await fetch(`${stack.gateway.url}/v1/subnets?include=series`).then((r) => r.json())) as {
      data: { netuid: number; traffic: { requests: number }; series: { requests: number }[] }[];
    };
    const sn4 = list.data.find((subnet) => subnet.netuid === 4)!;
    expect(sn4.traffic.requests).toBe(traffic.requests);
    expect(sn4.series.reduce((sum, point) => sum + point.requests, 0)).toBe(traffic.requests);
  });

  it('ranks miners on chain and as observed: the broken top miner ranks last by what it delivered', async () => {
    const { body } = await get('/v1/subnets/18');
    const miners = body.miners as { uid: number; on_chain_rank: number; observed_rank: number | null }[];
    const broken = miners.find((miner) => miner.uid === 1)!;
    expect(broken.on_chain_rank).toBe(1);
    const observed = miners.filter((miner) => miner.observed_rank !== null);
    expect(broken.observed_rank).toBe(observed.length);
  });

  it('answers an unknown subnet with a 404 in OpenAI shape', async () => {
    expect(await get('/v1/subnets/999')).toMatchObject({
      status: 404,
      body: { error: { code: 'subnet_not_found' } },
    });
  });
});
