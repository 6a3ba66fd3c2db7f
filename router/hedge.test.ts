import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ChatAdapter, UpstreamError } from '../adapters/index.ts';
import { NETUID, profile, RESILIENCE, request, sourceOf, textOf } from './fake-subnet.ts';
import { HedgeDelay, type HedgeSettings } from './hedge.ts';
import type { RetryBudgetSettings } from './retry-budget.ts';
import { createChatRouter } from './route-chat.ts';

/** Per miner: ms until its first chunk, or a failure before any. */
type Script = { firstChunkMs: number } | 'fail';

const HEDGE: HedgeSettings = { quantile: 0.95, minDelayMs: 50, minSamples: 5 };

/** Miners whose first chunk takes as long as `scripts` says, on fake timers the test advances. */
function fixture(options: {
  scripts: Record<number, Script>;
  retryBudget?: RetryBudgetSettings;
  hedge?: HedgeSettings;
  /** The draws of miner choice; always the first miner that may be called unless set. */
  random?: () => number;
}) {
  const calls: { uid: number; signal: AbortSignal; at: number }[] = [];
  const adapter: ChatAdapter = {
    protocol: 'scripted',
    async chat(target, _request, { signal }) {
      calls.push({ uid: target.uid, signal, at: Date.now() });
      const script = options.scripts[target.uid]!;
      if (script === 'fail') throw new UpstreamError('upstream_rejected', 'axon answered 500', 500);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, script.firstChunkMs);
        const cancel = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        signal.addEventListener('abort', cancel, { once: true });
      });
      return (async function* () {
        yield `uid${target.uid} answered`;
      })();
    },
  };
  const router = createChatRouter({
    source: sourceOf(Object.keys(options.scripts).map(() => 0.5)),
    adapterFor: () => adapter,
    ownHotkey: 'gateway',
    dialPolicy: { allowLoopback: true },
    maxAttempts: 2,
    resilience: { ...RESILIENCE, retryBudget: options.retryBudget ?? RESILIENCE.retryBudget },
    hedge: options.hedge ?? HEDGE,
    clock: () => Date.now(),
    // Always the first miner that may be called: uid 1 first, then uid 2.
    random: options.random ?? (() => 0),
  });
  /** Routes one request, letting `ms` of fake time pass, and reads the answer. */
  async function ask(ms: number) {
    const pending = router.route(profile, request, {
      signal: new AbortController().signal,
      deadlineMs: 30_000,
    });
    await vi.advanceTimersByTimeAsync(ms);
    const routed = await pending;
    return { ...routed, answer: await textOf(routed.text) };
  }
  /** Enough answers of 10 ms for the subnet's p95 to be known: the hedge delay is then the 50 ms floor. */
  async function warmUp() {
    for (let i = 0; i < HEDGE.minSamples; i++) await ask(10);
    calls.length = 0;
  }
  return { router, ask, warmUp, calls, scripts: options.scripts };
}

describe('hedged requests', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks a second miner once the first is slower than the subnet p95, and keeps the first answer', async () => {
    const { ask, warmUp, calls, scripts } = fixture({
      scripts: { 1: { firstChunkMs: 10 }, 2: { firstChunkMs: 10 } },
    });
    await warmUp();
    scripts[1] = { firstChunkMs: 5000 };

    const started = Date.now();
    const routed = await ask(100);
    expect(routed).toMatchObject({ answer: 'uid2 answered', hedged: true, attempts: 2 });
    expect(routed.miner.uid).toBe(2);
    expect(calls.map((call) => call.uid)).toEqual([1, 2]);
    // The subnet's p95 is 10 ms, so the hedge went at the 50 ms floor.
    expect(calls[1]!.at - started).toBe(50);
  });

  it('cancels the slower call and does not count it as the miner failing', async () => {
    const { router, ask, warmUp, calls, scripts } = fixture({
      scripts: { 1: { firstChunkMs: 10 }, 2: { firstChunkMs: 10 } },
    });
    await warmUp();
    scripts[1] = { firstChunkMs: 5000 };

    await ask(100);
    expect(calls[0]).toMatchObject({ uid: 1 });
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[1]!.signal.aborted).toBe(false);
    const [slow] = router.stats(NETUID);
    expect(slow).toMatchObject({ uid: 1, failures: 0, timeouts: 0, circuit: 'closed', inFlight: 0 });
  });

  it('keeps the first call when it answers before the hedge does, and cancels the hedge', async () => {
    const { router, ask, warmUp, calls, scripts } = fixture({
      scripts: { 1: { firstChunkMs: 10 }, 2: { firstChunkMs: 10 } },
    });
    await warmUp();
    scripts[1] = { firstChunkMs: 70 };
    scripts[2] = { firstChunkMs: 5000 };

    const routed = await ask(100);
    expect(routed).toMatchObject({ answer: 'uid1 answered', hedged: true, attempts: 2 });
    expect(calls.map((call) => [call.uid, call.signal.aborted])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(router.stats(NETUID)[1]).toMatchObject({ uid: 2, failures: 0, inFlight: 0 });
  });

  it('sends no hedge while the first chunk is within the threshold', async () => {
    const { ask, warmUp, calls, scripts } = fixture({
      scripts: { 1: { firstChunkMs: 10 }, 2: { firstChunkMs: 10 } },
    });
    await warmUp();
    scripts[1] = { firstChunkMs: 45 };

    const routed = await ask(100);
    expect(routed).toMatchObject({ answer: 'uid1 answered', hedged: false, attempts: 1 });
    expect(calls.map((call) => call.uid)).toEqual([1]);
  });

  it('sends no hedge before the subnet has enough samples to know its tail', async () => {
    const { ask, calls } = fixture({ scripts: { 1: { firstChunkMs: 500 }, 2: { firstChunkMs: 10 } } });
    const routed = await ask(600);
    expect(routed).toMatchObject({ answer: 'uid1 answered', hedged: false });
    expect(calls.map((call) => call.uid)).toEqual([1]);
  });

  it('still fails over at once when the first call fails before the threshold', async () => {
    const { ask, warmUp, calls, scripts } = fixture({
      scripts: { 1: { firstChunkMs: 10 }, 2: { firstChunkMs: 10 } },
    });
    await warmUp();
    scripts[1] = 'fail';

    const started = Date.now();
    const routed = await ask(10);
    expect(routed).toMatchObject({ answer: 'uid2 answered', hedged: false, attempts: 2 });
    expect(calls[1]!.at).toBe(started);
    expect(calls.map((call) => call.uid)).toEqual([1, 2]);
  });

  it('spends the retry budget: with none left, the slow miner is waited for', async () => {
    const { ask, warmUp, calls, scripts } = fixture({
      scripts: { 1: { firstChunkMs: 10 }, 2: { firstChunkMs: 10 } },
      retryBudget: { ratio: 0, floor: 1, windowMs: 600_000 },
    });
    await warmUp();
    scripts[1] = { firstChunkMs: 200 };

    expect(await ask(100)).toMatchObject({ answer: 'uid2 answered', hedged: true });
    calls.length = 0;
    const routed = await ask(300);
    expect(routed).toMatchObject({ answer: 'uid1 answered', hedged: false, attempts: 1 });
    expect(calls.map((call) => call.uid)).toEqual([1]);
  });

  describe('with miners of unknown or slow latency', () => {
    const NO_FLOOR: HedgeSettings = { quantile: 0.95, minDelayMs: 1, minSamples: 10 };
    /** Drawn in turn by miner choice: 0 picks the first miner that may be called, 0.999 the last. */
    let draws: number[] = [];
    const random = () => draws.shift() ?? 0;

    /**
     * Ten answers from uids 1 and 3 in turn, of 10, 20, … 100 ms: the subnet's median first chunk is 50 ms,
     * its p95 100 ms. Uid 2 is never asked.
     */
    async function warmUpWithout2(ask: (ms: number) => Promise<unknown>, scripts: Record<number, Script>) {
      for (let i = 0; i < 10; i++) {
        const uid = i % 2 === 0 ? 1 : 3;
        scripts[uid] = { firstChunkMs: 10 + 10 * i };
        draws = [uid === 1 ? 0 : 0.999];
        await ask(200);
      }
    }

    /** A router warmed up without uid 2 (which answers as `uid2` says), its warm-up calls forgotten. */
    async function warmedUpWithout2(uid2: Script) {
      const routed = fixture({
        scripts: { 1: { firstChunkMs: 10 }, 2: uid2, 3: { firstChunkMs: 10 } },
        hedge: NO_FLOOR,
        random,
      });
      await warmUpWithout2(routed.ask, routed.scripts);
      routed.calls.length = 0;
      return routed;
    }

    it('hedges a call to a miner never seen answering once it is later than the median, not the p95', async () => {
      const { ask, calls, scripts } = await warmedUpWithout2({ firstChunkMs: 5000 });
      scripts[1] = { firstChunkMs: 10 };
      scripts[3] = { firstChunkMs: 10 };

      // 0.5 of the total weight lands on uid 2, which has a little less weight than uids 1 and 3 (prior).
      draws = [0.5, 0];
      const started = Date.now();
      const routed = await ask(200);
      expect(calls.map((call) => call.uid)).toEqual([2, 1]);
      expect(calls[1]!.at - started).toBe(50);
      expect(routed).toMatchObject({ answer: 'uid1 answered', hedged: true });
    });

    it('hedges a miner known to answer in typical time at the p95, and to another such miner', async () => {
      const { ask, calls, scripts } = await warmedUpWithout2({ firstChunkMs: 10 });
      scripts[1] = { firstChunkMs: 5000 };
      scripts[3] = { firstChunkMs: 10 };

      // The hedge's draw of 0 would pick uid 2, the first left, were it not never seen answering.
      draws = [0, 0];
      const started = Date.now();
      const routed = await ask(200);
      expect(calls.map((call) => call.uid)).toEqual([1, 3]);
      expect(calls[1]!.at - started).toBe(100);
      expect(routed).toMatchObject({ answer: 'uid3 answered', hedged: true });
    });

    it('fails over to a miner known to answer in typical time, not to one never tried', async () => {
      const { ask, calls, scripts } = await warmedUpWithout2({ firstChunkMs: 10 });
      scripts[1] = 'fail';
      scripts[3] = { firstChunkMs: 10 };

      draws = [0, 0];
      const routed = await ask(200);
      expect(calls.map((call) => call.uid)).toEqual([1, 3]);
      expect(routed).toMatchObject({ answer: 'uid3 answered', hedged: false, attempts: 2 });
    });

    it('learns the latency of a miner a hedge overtook, though it never answered', async () => {
      const { router, ask, scripts } = fixture({
        scripts: { 1: { firstChunkMs: 10 }, 2: { firstChunkMs: 5000 }, 3: { firstChunkMs: 10 } },
        hedge: NO_FLOOR,
        random,
      });
      await warmUpWithout2(ask, scripts);
      const shareBefore = router.stats(NETUID)[1]!.share;
      scripts[1] = { firstChunkMs: 100 };

      // Hedged at 50 ms, overtaken when the hedge answers 100 ms later: three times the typical miner.
      draws = [0.5, 0];
      expect(await ask(200)).toMatchObject({ answer: 'uid1 answered', hedged: true });
      const slow = router.stats(NETUID)[1]!;
      expect(slow).toMatchObject({ uid: 2, successes: 0, failures: 0, latencyEwmaMs: 150 });
      expect(slow.share).toBeLessThan(0.6 * shareBefore);
    });
  });
});

describe('the hedge delay', () => {
  it('is the p95 for a miner known to answer within it, the median for one not known or known slower', () => {
    const delay = new HedgeDelay({ quantile: 0.95, minDelayMs: 1, minSamples: 20 });
    expect(delay.delayFor(30)).toBeUndefined();
    for (let ms = 1; ms <= 100; ms++) delay.record(ms);
    expect(delay.delayFor(30)).toBe(95);
    expect(delay.delayFor(undefined)).toBe(50);
    expect(delay.delayFor(200)).toBe(50);
  });

  it('is never below the floor', () => {
    const delay = new HedgeDelay({ quantile: 0.95, minDelayMs: 5, minSamples: 20 });
    for (let i = 0; i < 20; i++) delay.record(1);
    expect(delay.delayFor(1)).toBe(5);
    expect(delay.delayFor(undefined)).toBe(5);
  });
});
