import type { UpstreamError } from '../adapters/index.ts';
import type { Candidate } from './candidates.ts';
import { type BreakerPermit, CircuitBreaker, type CircuitState } from './circuit-breaker.ts';
import type { Clock } from './clock.ts';
import { InFlightLimits } from './in-flight.ts';
import { MinerStats } from './miner-stats.ts';
import { routingWeights } from './routing-weight.ts';
import { selectMiner } from './select.ts';
import type { ResilienceSettings } from './settings.ts';

/** The outcome of looking for a miner to call next. */
export type Choice =
  | { kind: 'chosen'; miner: Candidate }
  /** Every candidate was tried already. */
  | { kind: 'none-left' }
  /** The subnet, or every miner not tried and not broken, has as many calls open as allowed. */
  | { kind: 'at-capacity' }
  /** Every miner not tried has an open circuit; the first lets a probe through at `reopensAt`. */
  | { kind: 'circuits-open'; reopensAt: number };

/** One call to one miner, from dispatch until its answer is streamed or it failed. */
export interface Attempt {
  /** The first chunk arrived, `firstChunkMs` after the call was made. */
  succeeded(firstChunkMs: number): void;
  failed(error: UpstreamError): void;
  /** The client went away: no verdict on the miner. */
  abandoned(): void;
  /** Gives the in-flight slot back; safe to call more than once. */
  release(): void;
}

/** One miner as the gateway sees it, for the stats API. */
export interface MinerReport {
  uid: number;
  hotkey: string;
  incentive: number;
  /** Share of the next request this miner would get: its routing weight, none while its circuit is open. */
  share: number;
  circuit: CircuitState;
  inFlight: number;
  /** Decayed counts (see ObservedQuality). */
  successes: number;
  failures: number;
  timeouts: number;
  /** Time to first chunk: moving average, and p95 over the last answers. */
  latencyEwmaMs: number | undefined;
  latencyP95Ms: number | undefined;
}

interface MinerRecord {
  stats: MinerStats;
  breaker: CircuitBreaker;
}

/** Per miner (netuid, hotkey): observed stats, circuit breaker and open calls; and choosing among miners. */
export function createMinerHealth(settings: ResilienceSettings, clock: Clock) {
  // Keyed by hotkey rather than uid: a uid re-registered to a new hotkey is a new miner with a clean record.
  const records = new Map<number, Map<string, MinerRecord>>();
  const limits = new InFlightLimits(settings.inFlight);

  function peek(miner: Candidate): MinerRecord | undefined {
    return records.get(miner.netuid)?.get(miner.hotkey);
  }

  function recordOf(miner: Candidate): MinerRecord {
    let subnet = records.get(miner.netuid);
    if (!subnet) {
      subnet = new Map();
      records.set(miner.netuid, subnet);
    }
    let record = subnet.get(miner.hotkey);
    if (!record) {
      record = {
        stats: new MinerStats(settings.statsHalfLifeMs, clock()),
        breaker: new CircuitBreaker(settings.breaker),
      };
      subnet.set(miner.hotkey, record);
    }
    return record;
  }

  function weightsOf(pool: readonly Candidate[], now: number): number[] {
    return routingWeights(
      pool.map((miner) => ({ incentive: miner.incentive, observed: peek(miner)?.stats.quality(now) })),
    );
  }

  function choose(
    netuid: number,
    pool: readonly Candidate[],
    tried: ReadonlySet<number>,
    random?: () => number,
  ): Choice {
    if (!limits.subnetHasRoom(netuid)) return { kind: 'at-capacity' };
    const now = clock();
    const weights = weightsOf(pool, now);
    let full = 0;
    let reopensAt = Number.POSITIVE_INFINITY;
    for (let i = 0; i < pool.length; i++) {
      const miner = pool[i]!;
      if (tried.has(miner.uid)) {
        weights[i] = 0;
        continue;
      }
      const breaker = peek(miner)?.breaker;
      if (breaker && !breaker.allows(now)) {
        weights[i] = 0;
        reopensAt = Math.min(reopensAt, breaker.reopensAt);
      } else if (!limits.minerHasRoom(netuid, miner.hotkey)) {
        weights[i] = 0;
        full++;
      }
    }
    const miner = selectMiner(pool, weights, random);
    if (miner) return { kind: 'chosen', miner };
    if (full > 0) return { kind: 'at-capacity' };
    if (reopensAt < Number.POSITIVE_INFINITY) return { kind: 'circuits-open', reopensAt };
    return { kind: 'none-left' };
  }

  /** Starts a call to a miner `choose` returned: takes its slot and, if its circuit is half-open, the probe. */
  function dispatch(miner: Candidate): Attempt {
    const record = recordOf(miner);
    const permit: BreakerPermit = record.breaker.admit(clock());
    const release = limits.acquire(miner.netuid, miner.hotkey);
    return {
      succeeded(firstChunkMs) {
        record.stats.recordSuccess(firstChunkMs, clock());
        record.breaker.onSuccess(permit);
      },
      failed(error) {
        const now = clock();
        record.stats.recordFailure(error.code, now);
        record.breaker.onFailure(permit, now);
      },
      abandoned() {
        record.breaker.onAbandon(permit);
      },
      release,
    };
  }

  function report(pool: readonly Candidate[]): MinerReport[] {
    const now = clock();
    const weights = weightsOf(pool, now);
    let total = 0;
    pool.forEach((miner, i) => {
      if (peek(miner)?.breaker.allows(now) === false) weights[i] = 0;
      total += weights[i]!;
    });
    return pool.map((miner, i) => {
      const record = peek(miner);
      const observed = record?.stats.quality(now);
      return {
        uid: miner.uid,
        hotkey: miner.hotkey,
        incentive: miner.incentive,
        share: total > 0 ? weights[i]! / total : 0,
        circuit: record?.breaker.state(now) ?? 'closed',
        inFlight: limits.inFlight(miner.netuid, miner.hotkey),
        successes: observed?.successes ?? 0,
        failures: observed?.failures ?? 0,
        timeouts: observed?.timeouts ?? 0,
        latencyEwmaMs: observed?.latencyEwmaMs,
        latencyP95Ms: record?.stats.latencyP95Ms(),
      };
    });
  }

  /** Forgets miners that left the subnet's candidates, so memory follows the metagraph. */
  function retain(netuid: number, pool: readonly Candidate[]): void {
    const subnet = records.get(netuid);
    if (!subnet) return;
    const current = new Set(pool.map((miner) => miner.hotkey));
    for (const hotkey of subnet.keys()) if (!current.has(hotkey)) subnet.delete(hotkey);
  }

  return { choose, dispatch, report, retain };
}

export type MinerHealth = ReturnType<typeof createMinerHealth>;
