import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotkeyFromSecret, signEpistula } from '../bittensor/index.ts';
import { createTestLedger, flatPriceProfiles, fundedAccount, type TestLedger, waitFor } from './billing.ts';
import { type Stack, startStack } from './harness.ts';

const PRICE = 1000;
const PER_IMAGE = 700;
/** sn18's miners stream slowly, so a client can hang up half-way through an answer. */
const SLOW_STREAM_NETUID = 18;

describe('what each kind of paid request is charged', () => {
  let store: TestLedger;
  let stack: Stack;
  const prices = flatPriceProfiles(PRICE, { 23: { perImage: PER_IMAGE } });

  beforeAll(async () => {
    store = await createTestLedger('sqlite');
    stack = await startStack({
      env: { ...store.env, TAOGATE_PROFILES: prices.path, TAOGATE_CACHE: 'off' },
      localnet: {
        minersPerSubnet: 1,
        behaviour: (netuid) => (netuid === SLOW_STREAM_NETUID ? { chunkDelayMs: 150 } : undefined),
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await store?.dispose();
    prices.remove();
  });

  const post = (path: string, secret: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${stack.baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...init,
    });
  const chat = (model = 'sn1/apex-chat', extra: Record<string, unknown> = {}) => ({
    model,
    messages: [{ role: 'user', content: 'Tell me about Bittensor' }],
    ...extra,
  });

  it('serves the official OpenAI SDK with a taogate key as its apiKey, and refuses a wrong one', async () => {
    const { secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
    const sdk = new OpenAI({ baseURL: stack.baseURL, apiKey: secret, maxRetries: 0 });
    const reply = await sdk.chat.completions.create(chat() as ChatCompletionCreateParamsNonStreaming);
    expect((reply.usage as { cost_rao?: number } | undefined)?.cost_rao).toBe(PRICE);
    const wrong = new OpenAI({ baseURL: stack.baseURL, apiKey: `${secret}x`, maxRetries: 0 });
    await expect(
      wrong.chat.completions.create(chat() as ChatCompletionCreateParamsNonStreaming),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('charges a stream once it ends, with the cost in its usage chunk', async () => {
    const { account, secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
    const response = await post(
      '/chat/completions',
      secret,
      chat('sn1/apex-chat', {
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(response.headers.get('x-taogate-max-cost-rao')).toBe(String(PRICE));
    const events = (await response.text()).split('\n\n').filter((e) => e.startsWith('data: {'));
    const usage = JSON.parse(events.at(-1)!.slice(6)) as { usage: { cost_rao: number } };
    expect(usage.usage.cost_rao).toBe(PRICE);
    await waitFor(
      async () => (await store.ledger.account(account.id))?.balanceRao === BigInt(9 * PRICE),
      'the charge',
    );
    expect(await store.ledger.pendingReservations(account.id)).toBe(0);
  });

  it('charges a stream the client abandons for what was produced, and holds nothing afterwards', async () => {
    const { account, secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
    const abort = new AbortController();
    const response = await post(
      '/chat/completions',
      secret,
      chat(`sn${SLOW_STREAM_NETUID}/cortex-chat`, { stream: true }),
      {
        signal: abort.signal,
      },
    );
    const reader = response.body!.getReader();
    await reader.read();
    abort.abort();
    await waitFor(async () => (await store.ledger.pendingReservations(account.id)) === 0, 'the settlement');
    const [row] = await store.ledger.usage({ accountId: account.id });
    expect(row).toMatchObject({ netuid: SLOW_STREAM_NETUID, requests: 1, costRao: BigInt(PRICE) });
  });

  it('charges embeddings per request and images per image, from the same prices /v1/models shows', async () => {
    const { account, secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
    const embeddings = await post('/embeddings', secret, { model: 'sn5/kaito-embed', input: ['a', 'b'] });
    expect(embeddings.status).toBe(200);
    expect(embeddings.headers.get('x-taogate-cost-rao')).toBe(String(PRICE));
    // Embeddings report no usage to the meter: the gateway prices the answer's own usage and adds its cost.
    expect(((await embeddings.json()) as { usage: { cost_rao: number } }).usage.cost_rao).toBe(PRICE);
    const images = await post('/images/generations', secret, {
      model: 'sn23/niche-image',
      prompt: 'a fox',
      n: 2,
      size: '256x256',
    });
    expect(images.status).toBe(200);
    expect(images.headers.get('x-taogate-cost-rao')).toBe(String(2 * PER_IMAGE));
    expect(((await images.json()) as { data: unknown[] }).data).toHaveLength(2);
    expect((await store.ledger.account(account.id))?.balanceRao).toBe(BigInt(9 * PRICE - 2 * PER_IMAGE));
  });

  it("accepts a request signed with the account's coldkey instead of a key, and refuses its replay", async () => {
    const coldkey = await hotkeyFromSecret('//billing-requests/wallet');
    const account = await store.ledger.createAccount({ coldkey: coldkey.ss58, nowMs: Date.now() });
    await store.ledger.creditDeposit({
      blockHash: '0xfeed',
      eventIndex: 1,
      blockNumber: 1,
      extrinsicIndex: 1,
      fromColdkey: coldkey.ss58,
      amountRao: BigInt(5 * PRICE),
      nowMs: Date.now(),
    });
    const body = JSON.stringify(chat());
    const headers = {
      'content-type': 'application/json',
      ...signEpistula(body, coldkey, stack.gateway.hotkey),
    };
    const signed = await fetch(`${stack.baseURL}/chat/completions`, { method: 'POST', headers, body });
    expect(signed.status).toBe(200);
    const replayed = await fetch(`${stack.baseURL}/chat/completions`, { method: 'POST', headers, body });
    expect(replayed.status).toBe(401);
    const forged = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { ...signEpistula(body, coldkey, stack.gateway.hotkey), 'content-type': 'application/json' },
      body: body.replace('Bittensor', 'something else'),
    });
    expect(forged.status).toBe(401);
    expect((await store.ledger.account(account.id))?.balanceRao).toBe(BigInt(4 * PRICE));
  });

  it('stops a key at its spend cap and its rate limit', async () => {
    const capped = await fundedAccount(store.ledger, BigInt(10 * PRICE), { spendCapRao: BigInt(PRICE) });
    expect((await post('/chat/completions', capped.secret, chat())).status).toBe(200);
    const overCap = await post('/chat/completions', capped.secret, chat());
    expect(overCap.status).toBe(402);
    expect(await overCap.json()).toMatchObject({ error: { code: 'spend_cap_reached' } });
    const limited = await fundedAccount(store.ledger, BigInt(10 * PRICE), { ratePerMinute: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await post('/chat/completions', limited.secret, chat())).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('reports usage per key, subnet and day at GET /v1/usage', async () => {
    const { keyId, secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
    await post('/chat/completions', secret, chat());
    await post('/chat/completions', secret, chat('sn18/cortex-chat'));
    const response = await fetch(`${stack.baseURL}/usage`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    const usage = (await response.json()) as {
      account: { balance_rao: number };
      totals: { requests: number; cost_rao: number };
      data: { key_id: string; netuid: number; requests: number }[];
    };
    expect(usage.account.balance_rao).toBe(8 * PRICE);
    expect(usage.totals).toMatchObject({ requests: 2, cost_rao: 2 * PRICE });
    expect(usage.data.map((row) => [row.key_id, row.netuid, row.requests])).toEqual([
      [keyId, 1, 1],
      [keyId, 18, 1],
    ]);
    expect((await fetch(`${stack.baseURL}/usage`)).status).toBe(401);
  });
});
