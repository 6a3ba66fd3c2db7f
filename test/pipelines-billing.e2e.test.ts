import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLedger, flatPriceProfiles, fundedAccount, type TestLedger } from './billing.ts';
import { type Stack, startStack } from './harness.ts';

// One flat price per request and subnet, so each step's share of the bill is known exactly.
const PRICES = { 1: 100, 18: 1000, 4: 10_000 } as const;

interface Billed {
  usage: { cost_rao: number };
  taogate: { steps: { model: string; usage: { cost_rao?: number } }[] };
}

describe('billing a pipeline', () => {
  let store: TestLedger;
  let stack: Stack;
  const prices = flatPriceProfiles(1, {
    1: { perRequest: PRICES[1] },
    18: { perRequest: PRICES[18] },
    4: { perRequest: PRICES[4] },
  });

  beforeAll(async () => {
    store = await createTestLedger('sqlite');
    stack = await startStack({ env: { ...store.env, TAOGATE_PROFILES: prices.path, TAOGATE_HEDGE: 'off' } });
  });
  afterAll(async () => {
    await stack?.close();
    await store?.dispose();
    prices.remove();
  });

  const post = (secret: string, path: string, body: unknown) =>
    fetch(`${stack.baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('charges the sum of its steps, each at the price of the model that answered it', async () => {
    const { account, secret } = await fundedAccount(store.ledger, 1_000_000n);
    const response = await post(secret, '/chat/completions', {
      model: 'pipeline/draft-critique-revise',
      messages: [{ role: 'user', content: 'what is a subnet?' }],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Billed;
    const total = PRICES[1] + PRICES[18] + PRICES[4];
    expect(body.taogate.steps.map((step) => step.usage.cost_rao)).toEqual([PRICES[1], PRICES[18], PRICES[4]]);
    expect(body.usage.cost_rao).toBe(total);
    expect(response.headers.get('x-taogate-cost-rao')).toBe(String(total));
    expect(await store.ledger.account(account.id)).toMatchObject({ balanceRao: 1_000_000n - BigInt(total) });
  });

  it('prices an inline pipeline on the run endpoint by its own steps', async () => {
    const { account, secret } = await fundedAccount(store.ledger, 1_000_000n);
    const response = await post(secret, '/pipelines/run', {
      pipeline: {
        steps: [
          { id: 'a', model: 'sn4/targon-chat' },
          { id: 'b', model: 'sn18/cortex-chat' },
        ],
      },
      input: 'two steps',
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Billed).usage.cost_rao).toBe(PRICES[4] + PRICES[18]);
    expect(await store.ledger.account(account.id)).toMatchObject({
      balanceRao: 1_000_000n - BigInt(PRICES[4] + PRICES[18]),
    });
  });

  it('charges nothing for a pipeline that failed', async () => {
    const { account, secret } = await fundedAccount(store.ledger, 1_000_000n);
    const response = await post(secret, '/pipelines/run', {
      pipeline: { steps: [{ id: 'a', model: 'sn4/targon-chat', timeout_ms: 1, input: '{{input}}' }] },
      input: 'too slow',
    });
    expect(response.status).toBe(504);
    await response.arrayBuffer();
    expect(await store.ledger.account(account.id)).toMatchObject({ balanceRao: 1_000_000n, reservedRao: 0n });
  });
});
