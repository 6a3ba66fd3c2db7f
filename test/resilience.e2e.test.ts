import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MinerBehaviour } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';

const BREAKER_FAILURES = 3;

// sn1: its top-incentive miner answers 500 to everything; sn4: every miner hangs.
const staged = (netuid: number, uid: number): Partial<MinerBehaviour> | undefined => {
  if (netuid === 1 && uid === 1) return { errorRate: 1 };
  if (netuid === 4) return { hangRate: 1 };
  return undefined;
};

describe('routing around bad miners', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        TAOGATE_DEADLINE_MS: '10000',
        TAOGATE_MAX_ATTEMPTS: '2',
        TAOGATE_BREAKER_FAILURES: String(BREAKER_FAILURES),
        // Longer than the test runs: an opened circuit stays open throughout.
        TAOGATE_BREAKER_COOLDOWN_MS: '600000',
        TAOGATE_BREAKER_MAX_COOLDOWN_MS: '600000',
        TAOGATE_MINER_MAX_IN_FLIGHT: '1',
        // The reranker would steer away from the failing miner before its circuit opens; this isolates the breaker.
        TAOGATE_RERANKER_MODEL: 'off',
      },
      localnet: { minersPerSubnet: 2, behaviour: staged },
    });
  });
  afterAll(() => stack?.close());

  it('stop sending requests to a miner once its circuit opens', async () => {
    const failing = stack.localnet.miner(1, 1);
    // Picked at least about half the time while its circuit is closed: 20 requests open it all but surely.
    for (let i = 0; i < 20; i++) {
      const reply = await stack.client.chat.completions.create({
        model: 'sn1/apex-chat',
        messages: [{ role: 'user', content: `try ${i}` }],
      });
      expect(reply.choices[0]?.message.content).toBe(`sn1 miner 2 heard: try ${i}`);
    }
    expect(failing.received).toBe(BREAKER_FAILURES);

    const attempts: (string | null)[] = [];
    for (let i = 0; i < 10; i++) {
      const { response } = await stack.client.chat.completions
        .create({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: 'again' }] })
        .withResponse();
      attempts.push(response.headers.get('x-taogate-attempts'));
    }
    expect(failing.received).toBe(BREAKER_FAILURES);
    expect(attempts.every((count) => count === '1')).toBe(true);
  });

  it('answer 429 with Retry-After at once when every miner has as many calls open as allowed', async () => {
    const hung = [stack.localnet.miner(4, 1), stack.localnet.miner(4, 2)];
    const clients = [new AbortController(), new AbortController()];
    const pending = clients.map((controller) => post('x', controller.signal).catch(() => 'aborted'));
    await vi.waitFor(() => expect(hung[0]!.inFlight + hung[1]!.inFlight).toBe(2), {
      timeout: 2000,
      interval: 10,
    });

    const started = performance.now();
    const refused = await post('one too many');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('miners_at_capacity');
    // Well before the 10 s deadline a queued request would have waited for.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(hung[0]!.received + hung[1]!.received).toBe(2);

    for (const controller of clients) controller.abort();
    expect(await Promise.all(pending)).toEqual(['aborted', 'aborted']);
    await vi.waitFor(() => expect(hung[0]!.inFlight + hung[1]!.inFlight).toBe(0), {
      timeout: 2000,
      interval: 10,
    });

    // The slots came back with the calls: the next request reaches a miner again.
    const again = new AbortController();
    const next = post('after', again.signal).catch(() => 'aborted');
    await vi.waitFor(() => expect(hung[0]!.received + hung[1]!.received).toBe(3), {
      timeout: 2000,
      interval: 10,
    });
    again.abort();
    await next;
  });

  function post(content: string, signal?: AbortSignal): Promise<Response> {
    return fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sn4/targon-chat', messages: [{ role: 'user', content }] }),
      signal: signal ?? null,
    });
  }
});
