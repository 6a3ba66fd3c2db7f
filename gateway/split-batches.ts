/** The items in batches of at most `size`, in order. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}

/** `total` split into counts of at most `size` (10 in 4s: 4, 4, 2). */
export function countsOf(total: number, size: number): number[] {
  return batchesOf(Array.from({ length: total }), size).map((batch) => batch.length);
}

/**
 * Runs every call under one signal and waits for all; the first failure cancels the calls still running
 * (their answers could no longer be used) and is the result.
 */
export async function allOrNone<T>(
  calls: readonly ((signal: AbortSignal) => Promise<T>)[],
  signal: AbortSignal,
): Promise<T[]> {
  if (calls.length === 1) return [await calls[0]!(signal)];
  const failed = new AbortController();
  const shared = AbortSignal.any([signal, failed.signal]);
  try {
    return await Promise.all(calls.map((call) => call(shared)));
  } catch (error) {
    failed.abort(error);
    throw error;
  }
}
