import { describe, expect, it } from 'vitest';
import { type ChatAdapter, UpstreamError } from '../adapters/index.ts';
import { MinersAtCapacity, NoHealthyMiner, UpstreamExhausted } from './errors.ts';
import { NETUID, profile, RESILIENCE, request, sourceOf, textOf } from './fake-subnet.ts';
import { createChatRouter } from './route-chat.ts';
import type { ResilienceSettings } from './settings.ts';

type Script = 'answer' | 'fail' | 'hang';

/** Miners that answer, fail or hang as `scripts` says, on a clock the test steps. */
function fixture(options: {
  scripts: Record<number, Script>;
  incentives?: number[];
  maxAttempts?: number;
  resilience?: Partial<ResilienceSettings>;
}) {
  const clock = { now: 0 };
  const calls: number[] = [];
  const adapter: ChatAdapter = {
    protocol: 'scripted',
    async chat(target, _request, { signal }) {
      calls.push(target.uid);
      const script = options.scripts[target.uid];
      if (script === 'fail') throw new UpstreamError('upstream_rejected', 'axon answered 500', 500);
      if (script === 'hang') {
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      }
      clock.now += 40;
      return (async function* () {
        yield `uid${target.uid} `;
        yield 'answered';
      })();
    },
  };
  const resilience: ResilienceSettings = { ...RESILIENCE, ...options.resilience };
  const router = createChatRouter({
    source: sourceOf(options.incentives ?? Object.keys(options.scripts).map(() => 0.5)),
    adapterFor: () => adapter,
    ownHotkey: 'gateway',
    dialPolicy: { allowLoopback: true },
    maxAttempts: options.maxAttempts ?? 2,
    resilience,
    clock: () => clock.now,
    // Always the first miner that may be called: makes every choice predictable.
    random: () => 0,
  });
  const ask = (signal = new AbortController().signal) =>
    router.route(profile, request, { signal, deadlineMs: 30_000 });
  return { router, ask, calls, clock, scripts: options.scripts };
}

const callsTo = (calls: number[], uid: number) => calls.filter((called) => called === uid).length;

describe('chat router', () => {
  it('records every attempt, so its stats show who answered, how fast, and who failed', async () => {
    const { router, ask } = fixture({ scripts: { 1: 'fail', 2: 'answer' } });
    const routed = await ask();
    expect(await textOf(routed.text)).toBe('uid2 answered');
    expect(routed.attempts).toBe(2);

    const [first, second] = router.stats(NETUID);
    expect(first).toMatchObject({ uid: 1, successes: 0, circuit: 'closed', inFlight: 0 });
    expect(first!.failures).toBeCloseTo(1, 2); // 40 ms of decay since
    expect(second).toMatchObject({ uid: 2, successes: 1, failures: 0, latencyEwmaMs: 40, latencyP95Ms: 40 });
    expect(first!.share).toBeLessThan(second!.share);
  });

  it('stops calling a miner whose circuit opened, then probes it once per cool-down until it recovers', async () => {
    const { ask, calls, clock, scripts } = fixture({ scripts: { 1: 'fail', 2: 'answer' } });
    for (let i = 0; i < 10; i++) await ask();
    expect(callsTo(calls, 1)).toBe(3);

    clock.now += 1000;
    await ask();
    await ask();
    expect(callsTo(calls, 1)).toBe(4);

    scripts[1] = 'answer';
    clock.now += 1000;
    expect((await ask()).miner.uid).toBe(2);
    clock.now += 1000; // the failed probe doubled the cool-down
    expect((await ask()).miner.uid).toBe(1);
    expect((await ask()).miner.uid).toBe(1);
  });

  it('answers NoHealthyMiner with a retry-after while every circuit is open', async () => {
    const { ask, calls } = fixture({
      scripts: { 1: 'fail', 2: 'fail' },
      resilience: { breaker: { failureThreshold: 1, cooldownMs: 5000, maxCooldownMs: 5000 } },
    });
    await expect(ask()).rejects.toBeInstanceOf(UpstreamExhausted);

    const error = await ask().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoHealthyMiner);
    expect((error as NoHealthyMiner).retryAfterSeconds).toBe(5);
    expect(calls).toHaveLength(2);
  });

  it('makes about one upstream call per request when every miner fails (retry budget)', async () => {
    const { ask, calls } = fixture({
      scripts: { 1: 'fail', 2: 'fail', 3: 'fail' },
      maxAttempts: 3,
      // Breakers that never open, to see the budget alone.
      resilience: { breaker: { failureThreshold: 1e9, cooldownMs: 1000, maxCooldownMs: 1000 } },
    });
    for (let i = 0; i < 1000; i++) await expect(ask()).rejects.toBeInstanceOf(UpstreamExhausted);

    expect(calls.length).toBeLessThanOrEqual(1.2 * 1000 + 10);
    expect(calls.length).toBeGreaterThan(1000);
  });

  it('turns a request away at once when every miner is full, instead of queueing it', async () => {
    const { ask, calls } = fixture({
      scripts: { 1: 'hang', 2: 'hang' },
      resilience: { inFlight: { minerMaxInFlight: 1, subnetMaxInFlight: 64 } },
    });
    const clients = [new AbortController(), new AbortController()];
    const hung = clients.map((client) => ask(client.signal).catch(() => 'aborted'));
    await expect(ask()).rejects.toBeInstanceOf(MinersAtCapacity);
    expect(calls).toEqual([1, 2]);

    clients[0]!.abort();
    expect(await hung[0]).toBe('aborted');
    const next = new AbortController();
    const pending = ask(next.signal).catch(() => 'aborted');
    expect(calls).toEqual([1, 2, 1]);

    next.abort();
    clients[1]!.abort();
    await Promise.all([pending, hung[1]]);
  });

  it('holds the subnet to its limit across miners', async () => {
    const { ask, calls } = fixture({
      scripts: { 1: 'hang', 2: 'hang' },
      resilience: { inFlight: { minerMaxInFlight: 16, subnetMaxInFlight: 1 } },
    });
    const client = new AbortController();
    const hung = ask(client.signal).catch(() => 'aborted');
    await expect(ask()).rejects.toBeInstanceOf(MinersAtCapacity);
    expect(calls).toHaveLength(1);
    client.abort();
    await hung;
  });

  it('keeps the slot of an answer until it is read to the end', async () => {
    const { ask } = fixture({
      scripts: { 1: 'answer' },
      resilience: { inFlight: { minerMaxInFlight: 1, subnetMaxInFlight: 64 } },
    });
    const routed = await ask();
    await expect(ask()).rejects.toBeInstanceOf(MinersAtCapacity);

    await textOf(routed.text);
    expect(await textOf((await ask()).text)).toBe('uid1 answered');
  });

  it('blames no miner for a client that went away', async () => {
    const { router, ask } = fixture({ scripts: { 1: 'hang' } });
    const client = new AbortController();
    const pending = ask(client.signal).catch(() => 'aborted');
    client.abort();
    expect(await pending).toBe('aborted');

    expect(router.stats(NETUID)[0]).toMatchObject({ failures: 0, circuit: 'closed', inFlight: 0 });
  });
});
