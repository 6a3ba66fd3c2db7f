import { type Logger, pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Ledger, openLedger } from '../billing/index.ts';
import type { LocalnetOptions } from '../localnet/index.ts';
import { fundedAccount } from './billing.ts';
import { type PrivateService, startPrivatePostgres, startPrivateRedis } from './fault-services.ts';
import { type Stack, startStack } from './harness.ts';
import { expectOpenAIError } from './hostile-expectations.ts';

interface Answer {
  status: number;
  body: unknown;
}

async function ask(stack: Stack, content: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${stack.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      model: 'sn4/targon-chat',
      temperature: 0,
      messages: [{ role: 'user', content }],
    }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: await response.json() };
}

const DEPOSIT_RAO = 10n ** 15n;

/** A gateway billing through a PostgreSQL of the test's own, which it may stop, and an account funded there. */
interface PaidStack {
  postgres: PrivateService;
  stack: Stack;
  /** The test's own connection to the same ledger, to read the books. */
  ledger: Ledger;
  key: string;
  accountId: string;
  close(): Promise<void>;
}

async function startPaidStack(options: {
  env?: Record<string, string>;
  /** The database URL the gateway is given, from the service's. */
  withPassword?: (url: string) => string;
  logger?: Logger;
  localnet?: Partial<LocalnetOptions>;
}): Promise<PaidStack> {
  const postgres = await startPrivatePostgres();
  const url = options.withPassword?.(postgres.url) ?? postgres.url;
  const stack = await startStack({
    env: { TAOGATE_LEDGER: 'postgres', TAOGATE_DATABASE_URL: url, ...options.env },
    logger: options.logger,
    localnet: options.localnet,
  });
  const ledger = await openLedger({ kind: 'postgres', url: postgres.url }, pino({ level: 'silent' }));
  const funded = await fundedAccount(ledger, DEPOSIT_RAO);
  return {
    postgres,
    stack,
    ledger,
    key: funded.secret,
    accountId: funded.account.id,
    async close() {
      await ledger.close();
      await stack.close();
      await postgres.close();
    },
  };
}

describe('Redis stopped and restarted mid-load', () => {
  let redis: PrivateService;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    stack = await startStack({
      env: { TAOGATE_REDIS_URL: redis.url, TAOGATE_CACHE_PREFIX: `fault-stores:${process.pid}:` },
      localnet: { minersPerSubnet: 2 },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.close();
  });

  it('keeps answering every request while Redis is down (the cache degrades to local), and uses it again once back', async () => {
    const before = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(stack, `before ${i % 3}`)));
    expect(before.map((a) => a.status)).toEqual(Array(10).fill(200));

    await redis.stop();
    const started = performance.now();
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(stack, `during ${i % 4}`)));
    expect(during.map((a) => a.status)).toEqual(Array(20).fill(200));
    // Redis calls give up within the cache's Redis timeout: no request waits on a dead store.
    expect(performance.now() - started).toBeLessThan(3000);

    await redis.start();
    await vi.waitFor(async () => expect((await fetch(`${stack.gateway.url}/readyz`)).status).toBe(200), {
      timeout: 10_000,
      interval: 200,
    });
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(stack, `after ${i % 3}`)));
    expect(after.map((a) => a.status)).toEqual(Array(10).fill(200));
  });
});

describe('PostgreSQL (the ledger) stopped and restarted mid-load', () => {
  // Trust authentication takes any password: this one is there to be looked for in the logs.
  const PASSWORD = 'pw-never-logged-7f3a';
  const logs: string[] = [];
  let paid: PaidStack;

  beforeAll(async () => {
    paid = await startPaidStack({
      withPassword: (url) => url.replace('postgres@', `postgres:${PASSWORD}@`),
      logger: pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) }),
      localnet: { minersPerSubnet: 2 },
    });
  }, 60_000);
  afterAll(() => paid?.close());

  it('answers 503 in OpenAI shape (never 500, never a hang) while the ledger is down, recovers once it is back, and balances exactly', async () => {
    const { stack, postgres, ledger, key, accountId } = paid;
    const auth = { authorization: `Bearer ${key}` };
    const before = await Promise.all(Array.from({ length: 5 }, (_, i) => ask(stack, `paid ${i}`, auth)));
    expect(before.map((a) => a.status)).toEqual(Array(5).fill(200));

    await postgres.stop();
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(stack, `down ${i}`, auth)));
    for (const answer of during) {
      expect(answer.status).toBe(503);
      expectOpenAIError(answer.body);
    }
    expect((await fetch(`${stack.gateway.url}/readyz`)).status).toBe(503);

    await postgres.start();
    await vi.waitFor(async () => expect((await ask(stack, 'back', auth)).status).toBe(200), {
      timeout: 15_000,
      interval: 250,
    });
    await vi.waitFor(async () => expect((await fetch(`${stack.gateway.url}/readyz`)).status).toBe(200), {
      timeout: 10_000,
      interval: 200,
    });

    const account = await ledger.account(accountId);
    const charged = (await ledger.usage({ accountId })).reduce((sum, row) => sum + row.costRao, 0n);
    expect(await ledger.pendingReservations(accountId)).toBe(0);
    expect(account?.reservedRao).toBe(0n);
    expect(account?.balanceRao).toBe(DEPOSIT_RAO - charged);
    // The outage was logged, and the database password with it nowhere.
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(PASSWORD);
  }, 60_000);
});

describe('PostgreSQL (the ledger) stopped while paid answers are being produced', () => {
  const MINER_MS = 1500;
  let paid: PaidStack;

  beforeAll(async () => {
    paid = await startPaidStack({
      env: { TAOGATE_HEDGE: 'off' },
      localnet: {
        minersPerSubnet: 2,
        behaviour: (netuid) => (netuid === 4 ? { latencyMs: MINER_MS, jitterMs: 0 } : undefined),
      },
    });
  }, 60_000);
  afterAll(() => paid?.close());

  it('charges every answer it served once the ledger is back, and holds no funds after', async () => {
    const { stack, postgres, ledger, key, accountId } = paid;
    const auth = { authorization: `Bearer ${key}` };
    // Reserved while the ledger is up; answered (and to be charged) while it is down.
    const asked = Promise.all(Array.from({ length: 4 }, (_, i) => ask(stack, `in flight ${i}`, auth)));
    await new Promise((resolve) => setTimeout(resolve, MINER_MS / 3));
    await postgres.stop();
    const answers = await asked;
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);

    await postgres.start();
    await vi.waitFor(async () => expect(await ledger.pendingReservations(accountId)).toBe(0), {
      timeout: 20_000,
      interval: 250,
    });
    const usage = await ledger.usage({ accountId });
    expect(usage.reduce((sum, row) => sum + row.requests, 0)).toBe(4);
    const charged = usage.reduce((sum, row) => sum + row.costRao, 0n);
    expect(charged).toBeGreaterThan(0n);
    const account = await ledger.account(accountId);
    expect(account?.reservedRao).toBe(0n);
    expect(account?.balanceRao).toBe(DEPOSIT_RAO - charged);
  }, 60_000);
});
