/** Latency percentiles in ms. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

/** A growable list of float samples (ms), cheap to append at tens of thousands a second. */
export class SampleSet {
  #values = new Float64Array(1 << 16);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(value: number): void {
    if (this.#size === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#size++] = value;
  }

  sorted(): Float64Array {
    return this.#values.slice(0, this.#size).sort();
  }
}

/** Nearest-rank percentiles; NaN when there are no samples. */
export function percentiles(samples: SampleSet): Percentiles {
  const sorted = samples.sorted();
  const at = (q: number) =>
    sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** The middle value (the mean of the two middle ones for an even count); NaN when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
