import type { AttemptOutcome, RunningAttempt } from './attempt.ts';
import { LatencyWindow } from './latency-window.ts';

export interface HedgeSettings {
  /** Quantile of the subnet's recent times to first chunk after which a second miner is asked (0.95). */
  quantile: number;
  /**
   * Never hedge sooner than this. Not what bounds the cost of hedging: a hedge costs one call however soon
   * it goes, and the quantile (with the retry budget) bounds how many go. A floor only keeps timer and
   * event-loop jitter from passing for a slow miner on very fast subnets.
   */
  minDelayMs: number;
  /** Samples the subnet needs before its quantile is trusted; until then, no hedging. */
  minSamples: number;
}

/**
 * How many answers may arrive between two re-sorts of the window: the delay follows the subnet within a
 * few answers, and routing reads a cached number instead of sorting on every request.
 */
const RECOMPUTE_EVERY = 8;

/**
 * A call this many times slower than the subnet's median answer is worth a second try whatever the quantile
 * says: when a few slow miners still take ~5% of calls, the p95 lands among *their* times and a hedge at it
 * comes too late to help (load-tests/routing-strategies.ts measured p99 ≈ 4× healthy that way).
 */
const MEDIAN_MULTIPLE = 2;

/** Samples kept per subnet: enough for a stable p95 (≈ 13 samples above it), bounded memory. */
const WINDOW_SIZE = 256;

/**
 * When to hedge a call on one subnet: once its first chunk is later than most first chunks of the subnet's
 * miners lately (Dean & Barroso, "The Tail at Scale"), or than a few times the typical one. Subnet-wide
 * rather than per miner, because the question is "is this call unusually slow for this kind of work", and a
 * slow miner's own p95 would excuse exactly the calls hedging is for.
 *
 * A probe, a call to a miner never seen answering or known to take longer than that delay, is hedged once it
 * is later than the subnet's median instead. A known-slow miner's call will be hedged anyway, and waiting for
 * the tail first only adds it to the request; an unknown miner's call may be as slow, while a healthy one
 * answers before the median half the time and the other half costs one extra call. Probes are few (slow
 * miners' weights are small; a miner is unknown for a call or two), so this buys the tail of the requests
 * that meet them for a percent or so of extra calls. The loser's wait still counts as its latency sample
 * (miner-stats.ts), so a slow miner is known slow after its first probe.
 */
export class HedgeDelay {
  readonly #settings: HedgeSettings;
  readonly #firstChunks = new LatencyWindow(WINDOW_SIZE);
  #samples = 0;
  #sinceRecompute = 0;
  #delayMs: number | undefined;
  #probeDelayMs: number | undefined;

  constructor(settings: HedgeSettings) {
    this.#settings = settings;
  }

  /** A call's first chunk arrived `firstChunkMs` after it was made. */
  record(firstChunkMs: number): void {
    this.#firstChunks.add(firstChunkMs);
    this.#samples++;
    if (++this.#sinceRecompute < RECOMPUTE_EVERY && this.#delayMs !== undefined) return;
    if (this.#samples < this.#settings.minSamples) return;
    this.#sinceRecompute = 0;
    const quantile = this.#firstChunks.quantile(this.#settings.quantile) ?? 0;
    const median = this.#firstChunks.quantile(0.5) ?? 0;
    this.#delayMs = Math.max(this.#settings.minDelayMs, Math.min(quantile, MEDIAN_MULTIPLE * median));
    this.#probeDelayMs = Math.max(this.#settings.minDelayMs, Math.min(median, this.#delayMs));
  }

  /**
   * When to hedge a call to a miner whose first chunk is known to take `expectedMs` (undefined: not known):
   * at the delay, or at the median for a probe; undefined while unknown.
   */
  delayFor(expectedMs: number | undefined): number | undefined {
    const delayMs = this.#delayMs;
    if (delayMs === undefined) return undefined;
    return expectedMs === undefined || expectedMs > delayMs ? this.#probeDelayMs : delayMs;
  }
}

/** How long the sole running call may still go without a first chunk before it is hedged. */
export function hedgeWait(
  delay: HedgeDelay | undefined,
  running: ReadonlySet<RunningAttempt<unknown>>,
): number | undefined {
  const [sole] = running;
  const delayMs = delay?.delayFor(sole!.expectedMs);
  if (delayMs === undefined) return undefined;
  return Math.max(0, delayMs - sole!.elapsedMs());
}

type RaceEvent<C> = { attempt: RunningAttempt<C>; outcome: AttemptOutcome<C> } | 'hedge';

/** The first of: a running call settles, or (if `hedgeInMs` is set) the time to hedge comes. */
export async function firstSettledOrHedge<C>(
  running: ReadonlySet<RunningAttempt<C>>,
  hedgeInMs: number | undefined,
): Promise<RaceEvent<C>> {
  const settled = [...running].map((attempt) => attempt.outcome.then((outcome) => ({ attempt, outcome })));
  if (hedgeInMs === undefined) return Promise.race(settled);
  let timer: NodeJS.Timeout | undefined;
  const hedge = new Promise<'hedge'>((resolve) => {
    timer = setTimeout(() => resolve('hedge'), hedgeInMs);
  });
  try {
    return await Promise.race([...settled, hedge]);
  } finally {
    clearTimeout(timer);
  }
}
