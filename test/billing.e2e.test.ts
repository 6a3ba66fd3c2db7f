import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLedger, flatPriceProfiles, fundedAccount, type TestLedger } from './billing.ts';
import { type Stack, startStack } from './harness.ts';

const PRICE = 1000;
const chat = (model = 'sn1/apex-chat') => ({
  model,
  messages: [{ role: 'user', content: 'Hello, Bittensor' }],
});

describe.each(['sqlite', 'postgres'] as const)('paying per request, ledger on %s', (kind) => {
  let store: TestLedger;
  let stack: Stack;
  const prices = flatPriceProfiles(PRICE);

  beforeAll(async () => {
    store = await createTestLedger(kind);
    stack = await startStack({ env: { ...store.env, TAOGATE_PROFILES: prices.path } });
  });
  afterAll(async () => {
    await stack?.close();
    await store?.dispose();
    prices.remove();
  });

  const post = (secret: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('lets exactly 150 of 200 concurrent requests through when the balance pays for 150', async () => {
    const { account, secret } = await fundedAccount(store.ledger, BigInt(150 * PRICE));
    const responses = await Promise.all(Array.from({ length: 200 }, () => post(secret, chat())));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(statuses.filter((s) => s === 200)).toHaveLength(150);
    expect(statuses.filter((s) => s === 402)).toHaveLength(50);
    expect(await store.ledger.account(account.id)).toMatchObject({ balanceRao: 0n, reservedRao: 0n });
  });

  it('names the price, the cost and the deposit address', async () => {
    const { secret } = await fundedAccount(store.ledger, BigInt(PRICE));
    const paid = await post(secret, chat());
    const body = (await paid.json()) as { usage: { cost_rao: number } };
    expect(paid.headers.get('x-taogate-cost-rao')).toBe(String(PRICE));
    expect(body.usage.cost_rao).toBe(PRICE);
    const refused = await post(secret, chat());
    expect(refused.status).toBe(402);
    const error = ((await refused.json()) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ code: 'insufficient_balance', balance_rao: 0, price_rao: PRICE });
    expect(error.message).toContain(String(error.deposit_address));
  });

  it('charges an Idempotency-Key retry once and answers it with the first answer', async () => {
    const { account, secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
    const headers = { 'idempotency-key': 'order-42' };
    const first = await post(secret, chat(), headers);
    const firstBody = await first.text();
    const retry = await post(secret, chat(), headers);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.text()).toBe(firstBody);
    expect((await store.ledger.account(account.id))?.balanceRao).toBe(BigInt(9 * PRICE));
  });
});
