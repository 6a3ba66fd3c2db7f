import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Adapter, UpstreamError } from '../adapters/index.ts';
import { UpstreamExhausted } from './errors.ts';
import { NETUID, profile, RESILIENCE, sourceOf } from './fake-subnet.ts';
import { createChatRouter } from './route-chat.ts';

/** Per miner: ms until it answers with vectors, or a failure. */
type Script = { answerMs: number } | 'fail';

/** An embeddings subnet on fake timers: the same router as chat, another task. */
function fixture(scripts: Record<number, Script>, options: { hedge?: boolean; inFlight?: number } = {}) {
  const calls: { uid: number; signal: AbortSignal }[] = [];
  const adapter: Adapter = {
    protocol: 'scripted',
    async embeddings(target, request, { signal }) {
      calls.push({ uid: target.uid, signal });
      const script = scripts[target.uid]!;
      if (script === 'fail')
        throw new UpstreamError('upstream_invalid', 'the embeddings have 3 dimensions, not 8');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, script.answerMs);
        const cancel = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        signal.addEventListener('abort', cancel, { once: true });
      });
      return { vectors: request.inputs.map(() => [target.uid]) };
    },
  };
  const router = createChatRouter({
    source: sourceOf(Object.keys(scripts).map(() => 0.5)),
    adapterFor: () => adapter,
    ownHotkey: 'gateway',
    dialPolicy: { allowLoopback: true },
    maxAttempts: 2,
    resilience: {
      ...RESILIENCE,
      inFlight: { minerMaxInFlight: options.inFlight ?? 16, subnetMaxInFlight: 64 },
    },
    hedge: options.hedge ? { quantile: 0.95, minDelayMs: 50, minSamples: 5 } : undefined,
    clock: () => Date.now(),
    random: () => 0,
  });
  async function embed(ms: number) {
    const pending = router.routeTask(
      'embeddings',
      profile,
      { inputs: ['a', 'b'] },
      {
        signal: new AbortController().signal,
        deadlineMs: 30_000,
      },
    );
    // Observed at once: a failure while time passes is the test's to see, not an unhandled rejection.
    pending.catch(() => {});
    await vi.advanceTimersByTimeAsync(ms);
    return pending;
  }
  return { router, embed, calls };
}

describe('routing a task whose answer comes whole (embeddings)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('hands on the first valid answer, failing over past a miner whose answer is invalid', async () => {
    const { embed, router } = fixture({ 1: 'fail', 2: { answerMs: 10 } });
    const routed = await embed(20);
    expect(routed).toMatchObject({ attempts: 2, hedged: false, answer: { vectors: [[2], [2]] } });
    expect(routed.miner.uid).toBe(2);
    const [first, second] = router.stats(NETUID);
    expect(first).toMatchObject({ uid: 1, successes: 0, inFlight: 0 });
    expect(second).toMatchObject({ uid: 2, failures: 0, inFlight: 0 });
    expect(second!.successes).toBeGreaterThan(0.9);
  });

  it('gives up with the last failure once every attempt failed', async () => {
    const { embed } = fixture({ 1: 'fail', 2: 'fail' });
    const error = await embed(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamExhausted);
    expect((error as UpstreamExhausted).lastError.code).toBe('upstream_invalid');
  });

  it('hedges a call slower than the subnet usually is, and cancels the loser', async () => {
    const scripts: Record<number, Script> = { 1: { answerMs: 10 }, 2: { answerMs: 10 } };
    const { embed, calls } = fixture(scripts, { hedge: true });
    for (let i = 0; i < 8; i++) await embed(10);
    calls.length = 0;
    scripts[1] = { answerMs: 1000 };
    const routed = await embed(1000);
    expect(routed).toMatchObject({ hedged: true, attempts: 2, miner: { uid: 2 } });
    expect(calls.map((call) => call.uid)).toEqual([1, 2]);
    expect(calls[0]!.signal.aborted).toBe(true);
  });

  it('frees the miner’s slot once the whole answer is handed on', async () => {
    const { embed } = fixture({ 1: { answerMs: 5 } }, { inFlight: 1 });
    await embed(5);
    // With the slot still held, the second call would be refused as at capacity.
    await expect(embed(5)).resolves.toMatchObject({ miner: { uid: 1 } });
  });
});
