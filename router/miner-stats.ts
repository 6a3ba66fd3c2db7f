import type { UpstreamErrorCode } from '../adapters/index.ts';
import { LatencyWindow } from './latency-window.ts';

/** What a miner's recent calls say about it, as of one instant. */
export interface ObservedQuality {
  /**
   * Decayed counts: an outcome weighs 1 when it happens and half as much every half-life after, so a miner
   * that failed an hour ago is judged by what it does now. Failures include timeouts.
   */
  successes: number;
  failures: number;
  timeouts: number;
  /**
   * Decayed count of what `latencyEwmaMs` was learnt from: answers, and calls a hedge overtook (each a floor
   * of the miner's time to first chunk). How far the latency verdict can be trusted.
   */
  latencySamples: number;
  /** Time to first chunk, smoothed over recent answers and overtaken calls; undefined before the first. */
  latencyEwmaMs: number | undefined;
}

/**
 * Weight of the newest latency sample in the moving average: a miner that turns slow shows it within a
 * handful of answers, while one slow answer moves the average by a fifth only.
 */
const LATENCY_EWMA_ALPHA = 0.2;

/** Outcomes of the calls made to one miner, with exponential decay over time. */
export class MinerStats {
  readonly #halfLifeMs: number;
  /** When the counts were last decayed: they hold their value as of this instant. */
  #decayedAt: number;
  #successes = 0;
  #failures = 0;
  #timeouts = 0;
  #latencySamples = 0;
  #latencyEwmaMs: number | undefined;
  readonly #latencies = new LatencyWindow();

  constructor(halfLifeMs: number, now: number) {
    this.#halfLifeMs = halfLifeMs;
    this.#decayedAt = now;
  }

  /** The miner's first chunk arrived `firstChunkMs` after the call was made. */
  recordSuccess(firstChunkMs: number, now: number): void {
    this.#decayTo(now);
    this.#successes += 1;
    this.#latencySamples += 1;
    this.#latencyEwmaMs =
      this.#latencyEwmaMs === undefined
        ? firstChunkMs
        : this.#latencyEwmaMs + LATENCY_EWMA_ALPHA * (firstChunkMs - this.#latencyEwmaMs);
    this.#latencies.add(firstChunkMs);
  }

  /**
   * A call a hedge overtook: it had waited `waitedMs` for a first chunk, past the subnet's hedge delay, when
   * the hedge answered. Neither a success nor a failure, but a latency sample all the same (censored: the
   * first chunk would have come later still). Left out, a miner that is always overtaken would never be seen
   * answering at all and keep the weight of a miner never tried (load-tests/routing-strategies.ts: one was
   * picked for 8% of requests, each hedged); and a miner often very slow would look as fast as its answers
   * that did arrive. A wait shorter than the moving average only confirms it, so it does not lower it.
   */
  recordOutwaited(waitedMs: number, now: number): void {
    this.#decayTo(now);
    this.#latencySamples += 1;
    if (this.#latencyEwmaMs === undefined) this.#latencyEwmaMs = waitedMs;
    else if (waitedMs > this.#latencyEwmaMs)
      this.#latencyEwmaMs += LATENCY_EWMA_ALPHA * (waitedMs - this.#latencyEwmaMs);
  }

  recordFailure(code: UpstreamErrorCode, now: number): void {
    this.#decayTo(now);
    this.#failures += 1;
    if (code === 'upstream_timeout') this.#timeouts += 1;
  }

  quality(now: number): ObservedQuality {
    const factor = this.#decayFactor(now);
    return {
      successes: this.#successes * factor,
      failures: this.#failures * factor,
      timeouts: this.#timeouts * factor,
      latencySamples: this.#latencySamples * factor,
      latencyEwmaMs: this.#latencyEwmaMs,
    };
  }

  /** Kept apart from `quality`, which routing reads on every request: this one sorts samples. */
  latencyP95Ms(): number | undefined {
    return this.#latencies.quantile(0.95);
  }

  #decayTo(now: number): void {
    const factor = this.#decayFactor(now);
    this.#successes *= factor;
    this.#failures *= factor;
    this.#timeouts *= factor;
    this.#latencySamples *= factor;
    this.#decayedAt = Math.max(now, this.#decayedAt);
  }

  #decayFactor(now: number): number {
    return 2 ** (-Math.max(0, now - this.#decayedAt) / this.#halfLifeMs);
  }
}
