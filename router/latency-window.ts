/**
 * The last few latency samples of one miner, for tail estimates. A fixed ring rather than a growing list:
 * memory stays bounded per miner, and old samples leave as new ones come, so the tail follows the miner's
 * current behaviour.
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size = 64) {
    this.#samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** Nearest-rank quantile (`q` in [0, 1]) of the samples held; undefined before the first one. */
  quantile(q: number): number | undefined {
    if (this.#count === 0) return undefined;
    // Sorting a copy of ≤ 64 numbers only happens when stats are read, never on the request path.
    const sorted = this.#samples.slice(0, this.#count).sort();
    const rank = Math.min(this.#count - 1, Math.max(0, Math.ceil(q * this.#count) - 1));
    return sorted[rank];
  }
}
