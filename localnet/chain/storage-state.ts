/** One version of the chain's key-value storage. Never mutated: a change makes a new state for the next block. */
export interface StorageState {
  /** Increases with every new state; blocks that share a state share the generation. */
  readonly generation: number;
  get(key: string): string | undefined;
  /** Keys under `prefix`, strictly after `startKey` when given, in byte order, at most `count` (state_getKeysPaged). */
  keysPaged(prefix: string, count: number, startKey?: string): string[];
}

let generations = 0;

export function createStorageState(values: ReadonlyMap<string, string>): StorageState {
  // Lower-case hex sorts like the bytes it spells (a key that prefixes another comes first in both): the order
  // in which nodes page keys.
  const sorted = [...values.keys()].sort();
  const generation = ++generations;
  return {
    generation,
    get: (key) => values.get(key),
    keysPaged(prefix, count, startKey) {
      const from = startKey !== undefined && startKey >= prefix ? startKey : prefix;
      let index = lowerBound(sorted, from);
      if (sorted[index] === startKey) index++;
      const page: string[] = [];
      for (; index < sorted.length && page.length < count; index++) {
        const key = sorted[index]!;
        if (!key.startsWith(prefix)) break;
        page.push(key);
      }
      return page;
    },
  };
}

function lowerBound(sorted: readonly string[], target: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < target) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * `base` with `top`'s values over it: the per-block storage (events, balances) laid over the subnets'
 * storage without copying or re-sorting the large base for every block.
 */
export function layerStorageState(base: StorageState, top: ReadonlyMap<string, string>): StorageState {
  const upper = createStorageState(top);
  return {
    generation: upper.generation,
    get: (key) => top.get(key) ?? base.get(key),
    keysPaged(prefix, count, startKey) {
      const merged = new Set([
        ...base.keysPaged(prefix, count, startKey),
        ...upper.keysPaged(prefix, count, startKey),
      ]);
      return [...merged].sort().slice(0, count);
    },
  };
}
