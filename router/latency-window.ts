/**
 * The last few latency samples of one miner, for tail estimates. A fixed ring rather than a growing list:
 * memory stays bounded per miner, and old samples leave as new ones come, so the tail follows the miner's
 * current behaviour.
 *
 * Beside the ring, the same samples are kept in order: the p95 is read after every answer (miner-health.ts),
 * and moving one sample out and one in (a binary search and a shift of ≤ 64 numbers) is far cheaper than
 * sorting a copy each time.
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  readonly #sorted: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size = 64) {
    this.#samples = new Float64Array(size);
    this.#sorted = new Float64Array(size);
  }

  add(ms: number): void {
    const sorted = this.#sorted;
    let count = this.#count;
    if (count === this.#samples.length) {
      const leaving = firstAtLeast(sorted, count, this.#samples[this.#next]!);
      sorted.copyWithin(leaving, leaving + 1, count);
      count--;
    }
    const at = firstAbove(sorted, count, ms);
    sorted.copyWithin(at + 1, at, count);
    sorted[at] = ms;
    this.#count = count + 1;
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
  }

  /** Nearest-rank quantile (`q` in [0, 1]) of the samples held; undefined before the first one. */
  quantile(q: number): number | undefined {
    if (this.#count === 0) return undefined;
    const rank = Math.min(this.#count - 1, Math.max(0, Math.ceil(q * this.#count) - 1));
    return this.#sorted[rank];
  }
}

/** Index of the first of the `count` sorted values that is ≥ `value`. */
function firstAtLeast(sorted: Float64Array, count: number, value: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Index of the first of the `count` sorted values that is > `value`: where a new one goes, after its equals. */
function firstAbove(sorted: Float64Array, count: number, value: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}
