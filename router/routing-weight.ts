import type { ObservedQuality } from './miner-stats.ts';

export interface WeightInput {
  /** On-chain incentive, in [0, 1]. */
  incentive: number;
  /** What the gateway saw of the miner lately; undefined if it never called it. */
  observed: ObservedQuality | undefined;
}

/**
 * Share of the traffic, at most, that goes to miners for their exploration term alone. Small, because the
 * chain's incentive is the better long-run judge; not zero, or a miner validators have not scored yet would
 * never be tried.
 */
export const EXPLORATION_SHARE = 0.02;

/**
 * The Beta prior on a miner's success rate, as pseudo-counts: a never-tried miner starts at 0.9 and about
 * two real outcomes weigh as much as the prior.
 */
const PRIOR_SUCCESSES = 1.8;
const PRIOR_FAILURES = 0.2;

/**
 * How many answers a latency verdict is worth before any is seen. Smaller than the success prior: a slow
 * miner is rarely called once penalised, so its evidence grows slowly, and a verdict that needs many
 * samples would keep sending it traffic just to confirm it is slow.
 */
const LATENCY_DOUBT = 0.5;

/** Latency up to this multiple of the subnet's median costs nothing: jitter between similar miners is noise. */
const LATENCY_TOLERANCE = 1.25;

/**
 * The routing weight of each miner of a subnet, in the order given:
 *
 *   weight = (incentive + exploration) × reliability × speed
 *
 * - incentive sets the scale: it is the validators' consensus over many requests, which one gateway's few
 *   observations should correct, not replace.
 * - exploration = EXPLORATION_SHARE × Σ incentive / n, the same for every miner. The n terms add up to
 *   EXPLORATION_SHARE of the incentive total whatever n is, so unscored and newly registered miners are
 *   tried at a bounded rate; a flat per-miner bonus would hand 200 unscored miners most of the traffic.
 * - reliability = (successes + PRIOR_SUCCESSES) / (successes + failures + PRIOR_SUCCESSES + PRIOR_FAILURES),
 *   the posterior mean success rate over decayed counts. A never-tried miner gets the prior (0.9): not 0,
 *   which would never try it, nor above a proven miner, which would chase every newcomer. As counts decay,
 *   an old verdict fades back to the prior, so a miner that recovered earns its traffic back.
 * - speed = min(1, LATENCY_TOLERANCE × median / latency)², with latency the miner's moving average time to
 *   first chunk and median that of the subnet's observed miners: twice as slow as typical, a quarter of the
 *   traffic. Squared because a slow miner costs the tail twice, through its share and its slowness: a k×
 *   slower miner then adds share × slowness ∝ 1/k to the latency tail and its rare calls stay behind the
 *   hedge delay, where a linear penalty left a 10× slower miner an eighth of its traffic and the subnet's
 *   p95 inside the slow range (load-tests/routing-strategies.ts).
 *   Faster miners get no bonus, since the chain already rewards them and a bonus would let one gateway's
 *   latency view override the chain. It is blended with a neutral 1 by confidence samples / (samples +
 *   LATENCY_DOUBT), with samples the decayed count of answers and of calls a hedge overtook, so a lone
 *   sample counts for two thirds, and a stale one fades.
 *
 * Every weight is positive; the router zeroes those of miners it must skip (tried, circuit open, full).
 * `median` may be passed by a caller that needs it too, so the latencies are sorted once per choice.
 */
export function routingWeights(
  inputs: readonly WeightInput[],
  median: number | undefined = medianLatency(inputs),
): number[] {
  const exploration = explorationOf(inputs);
  return inputs.map(
    ({ incentive, observed }) =>
      (Math.max(0, incentive) + exploration) * reliabilityOf(observed) * speedOf(observed, median),
  );
}

/**
 * What miner selection weighs by (`TAOGATE_ROUTING_WEIGHTS`): `blended` is routingWeights; `incentive` keeps
 * only its chain term (incentive + exploration); `uniform` weighs every miner alike. The last two ignore
 * what the gateway observed, as baselines to measure blending against (load-tests/routing-strategies.ts);
 * circuit breakers, in-flight limits and the reranker still apply on top of any of them.
 */
export type RoutingWeighting = 'blended' | 'incentive' | 'uniform';

export function selectionWeights(
  weighting: RoutingWeighting,
  inputs: readonly WeightInput[],
  median?: number,
): number[] {
  switch (weighting) {
    case 'blended':
      return routingWeights(inputs, median ?? medianLatency(inputs));
    case 'incentive': {
      const exploration = explorationOf(inputs);
      return inputs.map(({ incentive }) => Math.max(0, incentive) + exploration);
    }
    case 'uniform':
      return inputs.map(() => 1);
  }
}

/** The exploration term, the same for every miner of the subnet (see routingWeights). */
function explorationOf(inputs: readonly WeightInput[]): number {
  let incentiveTotal = 0;
  for (const input of inputs) incentiveTotal += Math.max(0, input.incentive);
  // With no incentive anywhere (a new subnet), exploration is all there is: uniform weights.
  return incentiveTotal > 0 ? (EXPLORATION_SHARE * incentiveTotal) / inputs.length : 1;
}

function reliabilityOf(observed: ObservedQuality | undefined): number {
  const successes = observed?.successes ?? 0;
  const failures = observed?.failures ?? 0;
  return (successes + PRIOR_SUCCESSES) / (successes + failures + PRIOR_SUCCESSES + PRIOR_FAILURES);
}

function speedOf(observed: ObservedQuality | undefined, median: number | undefined): number {
  const latency = observed?.latencyEwmaMs;
  if (latency === undefined || median === undefined || latency <= 0) return 1;
  const measured = Math.min(1, (LATENCY_TOLERANCE * median) / latency) ** 2;
  const samples = observed!.latencySamples;
  const confidence = samples / (samples + LATENCY_DOUBT);
  return 1 - confidence * (1 - measured);
}

/**
 * A miner's time to first chunk as far as the gateway knows it: the moving average once the miner was seen
 * answering (at least half an answer's decayed weight, as a verdict's confidence ≥ ½ in speedOf); undefined
 * for a miner not seen answering lately. A miner only ever overtaken by hedges showed floors of its latency,
 * about the hedge delay, not how long it takes.
 */
export function knownLatency(observed: ObservedQuality | undefined): number | undefined {
  return observed && observed.successes >= LATENCY_DOUBT ? observed.latencyEwmaMs : undefined;
}

/**
 * Whether the gateway knows a miner to answer in typical time: its known latency is within LATENCY_TOLERANCE
 * of the subnet's median, so its weight carries no speed penalty.
 */
export function answersInTypicalTime(
  observed: ObservedQuality | undefined,
  median: number | undefined,
): boolean {
  const latency = knownLatency(observed);
  return latency !== undefined && median !== undefined && latency <= LATENCY_TOLERANCE * median;
}

/** Median moving-average latency of the miners observed so far; undefined if none was. */
export function medianLatency(inputs: readonly WeightInput[]): number | undefined {
  const latencies: number[] = [];
  for (const input of inputs) {
    const latency = input.observed?.latencyEwmaMs;
    if (latency !== undefined) latencies.push(latency);
  }
  if (latencies.length === 0) return undefined;
  latencies.sort((a, b) => a - b);
  const middle = latencies.length >> 1;
  return latencies.length % 2 === 1 ? latencies[middle]! : (latencies[middle - 1]! + latencies[middle]!) / 2;
}
