import { describe, expect, it } from 'vitest';
import { createMicroBatcher } from './micro-batcher.ts';

/** A batcher whose upstream doubles numbers and records each call it received. */
function doubling(windowMs: number, maxWeight: number) {
  const calls: number[][] = [];
  const batcher = createMicroBatcher<number[], number[]>({
    windowMs,
    maxWeight,
    weightOf: (inputs) => inputs.length,
    run: async (items) => {
      calls.push(items.flat());
      return items.map((inputs) => inputs.map((n) => n * 2));
    },
  });
  return { batcher, calls };
}

describe('micro-batcher', () => {
  it('sends callers arriving within the window as one call and gives each its own results', async () => {
    const { batcher, calls } = doubling(5, 100);
    const results = await Promise.all([
      batcher.submit([1, 2]),
      batcher.submit([3]),
      batcher.submit([4, 5, 6]),
    ]);
    expect(results).toEqual([[2, 4], [6], [8, 10, 12]]);
    expect(calls).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it('sends a batch as soon as it is full, and starts the next with the caller that would overflow it', async () => {
    const { batcher, calls } = doubling(1000, 3);
    const results = await Promise.all([batcher.submit([1, 2]), batcher.submit([3, 4]), batcher.submit([5])]);
    expect(results).toEqual([[2, 4], [6, 8], [10]]);
    expect(calls).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('drops a caller that gives up before its batch leaves', async () => {
    const { batcher, calls } = doubling(10, 100);
    const leaving = new AbortController();
    const gone = batcher.submit([1], leaving.signal);
    const staying = batcher.submit([2]);
    leaving.abort(new Error('client left'));
    await expect(gone).rejects.toThrow('client left');
    expect(await staying).toEqual([4]);
    expect(calls).toEqual([[2]]);
  });

  it('cancels the upstream call once every caller of a batch has given up', async () => {
    let upstreamSignal: AbortSignal | undefined;
    const batcher = createMicroBatcher<number, number>({
      windowMs: 0,
      maxWeight: 10,
      run: (_items, signal) => {
        upstreamSignal = signal;
        return new Promise(() => {});
      },
    });
    const a = new AbortController();
    const b = new AbortController();
    const calls = [batcher.submit(1, a.signal), batcher.submit(2, b.signal)];
    await new Promise((resolve) => setTimeout(resolve, 5));
    a.abort(new Error('a left'));
    expect(upstreamSignal?.aborted).toBe(false);
    b.abort(new Error('b left'));
    expect(upstreamSignal?.aborted).toBe(true);
    await expect(Promise.all(calls)).rejects.toThrow('a left');
  });

  it('fails every caller of a batch whose call failed, and the next batch still goes', async () => {
    let fail = true;
    const batcher = createMicroBatcher<number, number>({
      windowMs: 0,
      maxWeight: 10,
      run: async (items) => {
        if (fail) throw new Error('upstream down');
        return items;
      },
    });
    const failed = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.submit(3)).toBe(3);
  });
});
