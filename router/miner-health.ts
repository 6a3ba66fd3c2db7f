import type { UpstreamError } from '../adapters/index.ts';
import type { Candidate } from './candidates.ts';
import { type BreakerPermit, CircuitBreaker, type CircuitState } from './circuit-breaker.ts';
import type { Clock } from './clock.ts';
import { InFlightLimits } from './in-flight.ts';
import { MinerStats, type ObservedQuality } from './miner-stats.ts';
import { FEATURE_COUNT, type MinerFacts, type RequestFacts, writeFeatures } from './reranker/index.ts';
import {
  answersInTypicalTime,
  knownLatency,
  medianLatency,
  selectionWeights,
  type WeightInput,
} from './routing-weight.ts';
import { selectIndex } from './select.ts';
import type { ResilienceSettings } from './settings.ts';

/** The outcome of looking for a miner to call next. */
export type Choice =
  /** `expectedMs`: the miner's time to first chunk as far as known (knownLatency), for the hedge (hedge.ts). */
  | { kind: 'chosen'; miner: Candidate; expectedMs: number | undefined }
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
  /**
   * The client went away, or another miner answered first: neither a success nor a failure (breaker, success
   * rate). `waitedMs` is how long it had kept the call waiting without a first chunk, when a hedge overtook
   * it: a latency sample, and a bad reranker trace.
   */
  abandoned(waitedMs?: number): void;
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
  /** Kept here, updated per answer, because a reranker feature needs it per request and it sorts. */
  latencyP95Ms: number | undefined;
  lastFailureAt: number | undefined;
}

/** What a choice weighs a pool by: each miner's observed stats and weight, and the subnet's median latency. */
interface Assessment {
  inputs: WeightInput[];
  median: number | undefined;
  weights: number[];
}

/** First chunks later than this many subnet medians are labelled bad in reranker traces. */
const SLOW_ANSWER_FACTOR = 3;

/**
 * choose() does not see the request (route-chat owns it), so request features are constant for now; in a
 * linear model they shift every candidate's logit alike and so never change the ranking.
 */
const NO_REQUEST_FACTS: RequestFacts = { promptChars: 0, stream: false };

/** Per miner (netuid, hotkey): observed stats, circuit breaker and open calls; and choosing among miners. */
export function createMinerHealth(settings: ResilienceSettings, clock: Clock) {
  // Keyed by hotkey rather than uid: a uid re-registered to a new hotkey is a new miner with a clean record.
  const records = new Map<number, Map<string, MinerRecord>>();
  const limits = new InFlightLimits(settings.inFlight);
  const ranking = settings.ranking;
  const weighting = settings.weighting ?? 'blended';
  /** Bumped when a call to a subnet's miners starts or gets its verdict: reranker scores are redone then. */
  const versions = new Map<number, number>();
  /** Each subnet's median latency as of the last choice, for the feature row an attempt is recorded with. */
  const medianLatencies = new Map<number, number | undefined>();

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
        latencyP95Ms: undefined,
        lastFailureAt: undefined,
      };
      subnet.set(miner.hotkey, record);
    }
    return record;
  }

  /**
   * Blended weights (routing-weight.ts; or the baseline `settings.weighting` names), times the reranker's
   * probability of a good answer when it has scores for this pool. A product rather than ordering by
   * score: the blended weight carries the chain's incentive and the exploration share, which one gateway's
   * model should correct, not replace; and weighted-random choice keeps load spread, where ordering would
   * send every request to the top miner until it is full. A miner the model gives 0.05 where healthy ones
   * get 0.95 keeps a nineteenth of its weight relative to them; a model that fails or is absent leaves the
   * blended weights as they were.
   */
  function assess(pool: readonly Candidate[], now: number): Assessment {
    const inputs: WeightInput[] = pool.map((miner) => ({
      incentive: miner.incentive,
      observed: peek(miner)?.stats.quality(now),
    }));
    const median = medianLatency(inputs);
    const weights = selectionWeights(weighting, inputs, median);
    const netuid = pool[0]?.netuid;
    if (netuid === undefined || !(ranking?.reranker || ranking?.traces)) return { inputs, median, weights };
    medianLatencies.set(netuid, median);
    // A lone candidate is chosen whatever it scores: no inference for it (one upstream behind a profile).
    const scores =
      pool.length > 1
        ? ranking.reranker?.scores(pool, versions.get(netuid) ?? 0, () =>
            featuresOf(pool, inputs, now, median),
          )
        : undefined;
    if (scores && scores.length === pool.length) {
      for (let i = 0; i < pool.length; i++) weights[i]! *= scores[i]!;
    }
    return { inputs, median, weights };
  }

  /** `inputs` are the blended weights' inputs for the same pool and instant: their stats are reused. */
  function featuresOf(
    pool: readonly Candidate[],
    inputs: readonly WeightInput[],
    now: number,
    median: number | undefined,
  ): Float32Array {
    const rows = new Float32Array(pool.length * FEATURE_COUNT);
    const subnet = { medianLatencyMs: median };
    for (let row = 0; row < pool.length; row++) {
      writeFeatures(rows, row, factsOf(pool[row]!, now, inputs[row]!.observed), subnet, NO_REQUEST_FACTS);
    }
    return rows;
  }

  function factsOf(miner: Candidate, now: number, observed: ObservedQuality | undefined): MinerFacts {
    const record = peek(miner);
    return {
      incentive: miner.incentive,
      stake: miner.stake,
      observed,
      latencyP95Ms: record?.latencyP95Ms,
      msSinceLastFailure: record?.lastFailureAt === undefined ? undefined : now - record.lastFailureAt,
      inFlight: limits.inFlight(miner.netuid, miner.hotkey),
    };
  }

  /**
   * A trace's label: an answer far slower than the subnet's median is as bad for the caller's tail latency as
   * a failure (it is what a hedge exists to cut), so the reranker learns to avoid slow miners, not just broken ones.
   */
  function answeredInTime(netuid: number, firstChunkMs: number): 0 | 1 {
    const median = medianLatencies.get(netuid);
    return median === undefined || firstChunkMs <= SLOW_ANSWER_FACTOR * median ? 1 : 0;
  }

  function changed(netuid: number): void {
    versions.set(netuid, (versions.get(netuid) ?? 0) + 1);
  }

  /** The miner's features as it is dispatched, to be recorded with the attempt's outcome. */
  function traceRowOf(miner: Candidate): Float32Array | undefined {
    if (!ranking?.traces) return undefined;
    const row = new Float32Array(FEATURE_COUNT);
    const subnet = { medianLatencyMs: medianLatencies.get(miner.netuid) };
    const now = clock();
    writeFeatures(row, 0, factsOf(miner, now, peek(miner)?.stats.quality(now)), subnet, NO_REQUEST_FACTS);
    return row;
  }

  /**
   * A miner to call next, by weighted random choice among those not tried, closed and with room. A `retry`
   * (a hedge, or a failover) goes to a miner known to answer in typical time when any can take it: the
   * request already spent its first try and may have no other, so a probe of unknown or slow latency,
   * which is how miners get tried, belongs to first tries.
   */
  function choose(
    netuid: number,
    pool: readonly Candidate[],
    tried: ReadonlySet<number>,
    random?: () => number,
    retry = false,
  ): Choice {
    if (!limits.subnetHasRoom(netuid)) return { kind: 'at-capacity' };
    const now = clock();
    const { inputs, median, weights } = assess(pool, now);
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
    const typical = (i: number) => answersInTypicalTime(inputs[i]!.observed, median);
    if (retry && weights.some((weight, i) => weight > 0 && typical(i))) {
      for (let i = 0; i < pool.length; i++) if (!typical(i)) weights[i] = 0;
    }
    const chosen = selectIndex(weights, random);
    if (chosen !== undefined)
      return { kind: 'chosen', miner: pool[chosen]!, expectedMs: knownLatency(inputs[chosen]!.observed) };
    if (full > 0) return { kind: 'at-capacity' };
    if (reopensAt < Number.POSITIVE_INFINITY) return { kind: 'circuits-open', reopensAt };
    return { kind: 'none-left' };
  }

  /** Starts a call to a miner `choose` returned: takes its slot and, if its circuit is half-open, the probe. */
  function dispatch(miner: Candidate): Attempt {
    const record = recordOf(miner);
    const traceRow = traceRowOf(miner);
    const permit: BreakerPermit = record.breaker.admit(clock());
    const release = limits.acquire(miner.netuid, miner.hotkey);
    changed(miner.netuid);
    return {
      succeeded(firstChunkMs) {
        record.stats.recordSuccess(firstChunkMs, clock());
        record.latencyP95Ms = record.stats.latencyP95Ms();
        record.breaker.onSuccess(permit);
        changed(miner.netuid);
        if (traceRow) ranking?.traces?.record(traceRow, 0, answeredInTime(miner.netuid, firstChunkMs));
      },
      failed(error) {
        const now = clock();
        record.stats.recordFailure(error.code, now);
        record.lastFailureAt = now;
        record.breaker.onFailure(permit, now);
        changed(miner.netuid);
        if (traceRow) ranking?.traces?.record(traceRow, 0, 0);
      },
      abandoned(waitedMs) {
        record.breaker.onAbandon(permit);
        if (waitedMs === undefined) return;
        record.stats.recordOutwaited(waitedMs, clock());
        // Overtaken by a hedge sent after it: the call did not answer its request in time, as a slow answer
        // does not. Left out of the traces, a slow miner's calls would mostly vanish from them (they are
        // overtaken before they could be labelled slow) and the model would learn latency matters less.
        if (traceRow) ranking?.traces?.record(traceRow, 0, 0);
      },
      release,
    };
  }

  function report(pool: readonly Candidate[]): MinerReport[] {
    const now = clock();
    const { weights } = assess(pool, now);
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
        latencyP95Ms: record?.latencyP95Ms,
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
