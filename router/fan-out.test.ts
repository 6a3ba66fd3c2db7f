import { describe, expect, it } from 'vitest';
import { type ChatAdapter, UpstreamError } from '../adapters/index.ts';
import { UpstreamExhausted } from './errors.ts';
import { NETUID, profile, RESILIENCE, request, sourceOf } from './fake-subnet.ts';
import { createChatRouter } from './route-chat.ts';

/** Per miner: its answer, or a failure. */
type Script = string | 'fail';

function fixture(scripts: Record<number, Script>) {
  const calls: number[] = [];
  const adapter: ChatAdapter = {
    protocol: 'scripted',
    async chat(target) {
      calls.push(target.uid);
      const script = scripts[target.uid]!;
      if (script === 'fail') throw new UpstreamError('upstream_invalid', 'the axon sent garbage');
      return (async function* () {
        yield script;
      })();
    },
  };
  const router = createChatRouter({
    source: sourceOf(Object.keys(scripts).map(() => 0.5)),
    adapterFor: () => adapter,
    ownHotkey: 'gateway',
    dialPolicy: { allowLoopback: true },
    maxAttempts: 2,
    resilience: RESILIENCE,
    maxFanout: 5,
    // A frozen clock: equally good answers tie on latency too, and keep the order they were asked in.
    clock: () => 0,
    random: () => 0,
  });
  const askMany = (fanout: number) =>
    router.fanOut(profile, request, { signal: new AbortController().signal, deadlineMs: 30_000, fanout });
  return { router, askMany, calls };
}

describe('fan-out', () => {
  it('asks k distinct miners and returns the answer the others agree with', async () => {
    const { askMany, calls } = fixture({
      1: 'As an AI, I refuse.',
      2: 'The answer is 42.',
      3: '42 is the answer.',
    });
    const best = await askMany(3);
    expect(calls.sort()).toEqual([1, 2, 3]);
    expect(best.text).toBe('The answer is 42.');
    expect(best.winner.uid).toBe(2);
    expect(best.queried.map(({ miner, verdict }) => [miner.uid, verdict])).toEqual([
      [1, 'outranked'],
      [2, 'won'],
      [3, 'outranked'],
    ]);
  });

  it('records every call in the miners stats, and frees every slot', async () => {
    const { router, askMany } = fixture({ 1: 'fine', 2: 'fail', 3: 'fine too' });
    const best = await askMany(3);
    expect(best.winner.uid).not.toBe(2);
    expect(best.queried.find(({ miner }) => miner.uid === 2)?.verdict).toBe('upstream_invalid');
    const stats = router.stats(NETUID);
    expect(stats.map((miner) => [miner.successes > 0, miner.failures > 0, miner.inFlight])).toEqual([
      [true, false, 0],
      [false, true, 0],
      [true, false, 0],
    ]);
  });

  it('asks as many miners as there are when k is larger', async () => {
    const { askMany, calls } = fixture({ 1: 'one', 2: 'two' });
    const best = await askMany(5);
    expect(best.queried).toHaveLength(2);
    expect(calls.sort()).toEqual([1, 2]);
  });

  it('fails like a routed request when no miner answers', async () => {
    const { askMany } = fixture({ 1: 'fail', 2: 'fail' });
    await expect(askMany(2)).rejects.toBeInstanceOf(UpstreamExhausted);
  });
});
