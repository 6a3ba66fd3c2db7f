import type { CacheResult } from './request-context.ts';

/** Width of one point of the latency-over-time series, and how many points are kept (10 minutes). */
export const SLOT_MS = 5_000;
const SLOTS_KEPT = 120;
/** Latencies kept per slot and for the "now" quantiles: enough for a stable p99, bounded memory. */
const SAMPLES_PER_SLOT = 512;
const RECENT_SAMPLES = 1024;

export interface TrafficRecord {
  netuid: number;
  seconds: number;
  firstTokenSeconds: number | undefined;
  errorCode: string | undefined;
}

/** One point of a subnet's series. */
export interface TrafficPoint {
  /** Start of the slot, ms since the epoch. */
  t: number;
  requests: number;
  errors: number;
  cacheHits: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface TrafficSummary {
  /** Since the gateway started: exact counts, so they can be checked against the traffic sent. */
  requests: number;
  errors: number;
  successRate: number | null;
  /** Over the last requests that succeeded (up to 1024). */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  firstTokenMs: { p50: number | null; p95: number | null };
  cache: { hits: number; misses: number; hitRate: number | null };
}

interface Slot {
  start: number;
  requests: number;
  errors: number;
  cacheHits: number;
  latencies: number[];
}

class SubnetTally {
  requests = 0;
  errors = 0;
  cacheHits = 0;
  cacheMisses = 0;
  readonly latencies = new SampleRing(RECENT_SAMPLES);
  readonly firstTokens = new SampleRing(RECENT_SAMPLES);
  readonly slots: Slot[] = [];

  slotAt(now: number): Slot {
    const start = now - (now % SLOT_MS);
    const last = this.slots.at(-1);
    if (last?.start === start) return last;
    const slot = { start, requests: 0, errors: 0, cacheHits: 0, latencies: [] };
    this.slots.push(slot);
    if (this.slots.length > SLOTS_KEPT) this.slots.shift();
    return slot;
  }
}

/**
 * Per-subnet traffic as the gateway served it: exact counts since start, recent latency quantiles, and a
 * 10-minute series in 5-second points for the dashboard's chart. Recording is O(1); sorting happens only
 * when someone reads.
 */
export function createSubnetTraffic(clock: () => number = Date.now) {
  const tallies = new Map<number, SubnetTally>();

  function tallyOf(netuid: number): SubnetTally {
    let tally = tallies.get(netuid);
    if (!tally) {
      tally = new SubnetTally();
      tallies.set(netuid, tally);
    }
    return tally;
  }

  return {
    recordRequest(record: TrafficRecord): void {
      const tally = tallyOf(record.netuid);
      const slot = tally.slotAt(clock());
      tally.requests++;
      slot.requests++;
      if (record.errorCode !== undefined) {
        tally.errors++;
        slot.errors++;
        return;
      }
      const ms = record.seconds * 1000;
      tally.latencies.add(ms);
      if (record.firstTokenSeconds !== undefined) tally.firstTokens.add(record.firstTokenSeconds * 1000);
      if (slot.latencies.length < SAMPLES_PER_SLOT) slot.latencies.push(ms);
    },

    recordCacheLookup(netuid: number, result: CacheResult): void {
      const tally = tallyOf(netuid);
      if (result === 'hit') {
        tally.cacheHits++;
        tally.slotAt(clock()).cacheHits++;
      } else if (result === 'miss') tally.cacheMisses++;
    },

    summary(netuid: number): TrafficSummary {
      const tally = tallies.get(netuid) ?? new SubnetTally();
      const latencies = tally.latencies.sorted();
      const firstTokens = tally.firstTokens.sorted();
      const lookups = tally.cacheHits + tally.cacheMisses;
      return {
        requests: tally.requests,
        errors: tally.errors,
        successRate: tally.requests > 0 ? (tally.requests - tally.errors) / tally.requests : null,
        latencyMs: {
          p50: quantile(latencies, 0.5),
          p95: quantile(latencies, 0.95),
          p99: quantile(latencies, 0.99),
        },
        firstTokenMs: { p50: quantile(firstTokens, 0.5), p95: quantile(firstTokens, 0.95) },
        cache: {
          hits: tally.cacheHits,
          misses: tally.cacheMisses,
          hitRate: lookups > 0 ? tally.cacheHits / lookups : null,
        },
      };
    },

    /** The subnet's points from the last 10 minutes, oldest first; slots without traffic are left out. */
    series(netuid: number): TrafficPoint[] {
      const horizon = clock() - SLOTS_KEPT * SLOT_MS;
      return (tallies.get(netuid)?.slots ?? [])
        .filter((slot) => slot.start >= horizon)
        .map((slot) => {
          const sorted = Float64Array.from(slot.latencies).sort();
          return {
            t: slot.start,
            requests: slot.requests,
            errors: slot.errors,
            cacheHits: slot.cacheHits,
            p50Ms: quantile(sorted, 0.5),
            p95Ms: quantile(sorted, 0.95),
          };
        });
    },
  };
}

export type SubnetTraffic = ReturnType<typeof createSubnetTraffic>;

/** The last `size` samples. */
class SampleRing {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#samples = new Float64Array(size);
  }

  add(value: number): void {
    this.#samples[this.#next] = value;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  sorted(): Float64Array {
    return this.#samples.slice(0, this.#count).sort();
  }
}

/** Nearest-rank quantile of sorted samples, rounded to 0.1 ms; null without samples. */
function quantile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[rank]! * 10) / 10;
}
