import { UpstreamError, type UpstreamErrorCode } from '../../adapters/index.ts';
// The simulation deals faults with localnet's own seeded generator, so both replay alike.
import { seededRandom } from '../../localnet/behaviour.ts';
import type { Candidate } from '../candidates.ts';
import { HedgeDelay, type HedgeSettings } from '../hedge.ts';
import { type Attempt, createMinerHealth } from '../miner-health.ts';
import type { ResilienceSettings } from '../settings.ts';
import { createTraceRecorder } from './trace-recorder.ts';
import type { Trace } from './train.ts';

/** How one simulated miner answers; rates are per request. */
export interface SimulatedBehaviour {
  /** Median time to first chunk; each call draws a log-normal latency around it. */
  latencyMs: number;
  /** Answers with an error status. */
  errorRate: number;
  /** Answers with output that is not a valid answer. */
  garbageRate: number;
}

export interface SimulationOptions {
  miners?: number;
  requests?: number;
  seed?: number;
  /** Per-attempt timeout: a latency drawn above it is a timeout. */
  timeoutMs?: number;
  /** Mean gap between requests, in simulated ms. */
  requestGapMs?: number;
  /** How many times the fault mix is dealt out afresh, so miners are seen turning bad and recovering. */
  stages?: number;
}

const HEALTHY: SimulatedBehaviour = { latencyMs: 80, errorRate: 0.01, garbageRate: 0 };

/**
 * The staged fault mix of the shipped model: 20% of miners 10× slower, 10% failing (errors), 10% answering
 * garbage, the rest healthy. Which miners misbehave is dealt again at every stage.
 */
export function stagedFaultMix(random: () => number): SimulatedBehaviour {
  const roll = random();
  if (roll < 0.2) return { ...HEALTHY, latencyMs: HEALTHY.latencyMs * 10 };
  if (roll < 0.3) return { ...HEALTHY, errorRate: 0.8 };
  if (roll < 0.4) return { ...HEALTHY, garbageRate: 0.6 };
  return HEALTHY;
}

/**
 * Traces from the router's own selection, stats, breakers and recorder (the same code a gateway runs),
 * driving simulated miners on a simulated clock instead of localnet's servers: thousands of requests take
 * a second instead of minutes, and a seed replays them exactly. Requests are hedged and failed over as the
 * gateway does (playRequest), so the traces hold what a gateway records: overtaken calls among them. They
 * run one at a time, so the in-flight feature stays 0 in these traces.
 */
export function simulateTraffic(options: SimulationOptions = {}): Trace[] {
  const {
    miners = 64,
    requests = 30_000,
    seed = 1,
    timeoutMs = 2_000,
    requestGapMs = 20,
    stages = 4,
  } = options;
  const random = seededRandom(seed);
  let now = 0;
  const traces = createTraceRecorder({ capacity: requests * 2 });
  const health = createMinerHealth({ ...SIMULATED_RESILIENCE, ranking: { traces } }, () => now);
  const pool: Candidate[] = Array.from({ length: miners }, (_, i) => ({
    netuid: 1,
    uid: i + 1,
    hotkey: `miner-${i + 1}`,
    ip: '127.0.0.1',
    port: 1,
    incentive: random() / miners,
    stake: 10 ** (1 + random() * 4),
  }));
  let behaviours = pool.map(() => stagedFaultMix(random));
  const hedgeDelay = new HedgeDelay(SIMULATED_HEDGE);

  /** Dispatches a call `startsAt` ms into its request and draws how it goes; undefined if none can go. */
  function call(tried: Set<number>, retry: boolean, startsAt: number): SimulatedCall | undefined {
    const choice = health.choose(1, pool, tried, random, retry);
    if (choice.kind !== 'chosen') return undefined;
    tried.add(choice.miner.uid);
    const slot = health.dispatch(choice.miner);
    const behaviour = behaviours[choice.miner.uid - 1]!;
    // Log-normal with σ = 0.5: a 10× slow miner (800 ms median) exceeds a 2 s timeout about 3% of the time.
    const latencyMs = behaviour.latencyMs * Math.exp(0.5 * gaussian(random));
    const failure = outcomeOf(behaviour, latencyMs, timeoutMs, random());
    const settlesAt = startsAt + Math.min(latencyMs, timeoutMs);
    return { slot, startsAt, settlesAt, failure, expectedMs: choice.expectedMs };
  }

  const requestsPerStage = Math.ceil(requests / stages);
  for (let request = 0; request < requests; request++) {
    if (request > 0 && request % requestsPerStage === 0) behaviours = pool.map(() => stagedFaultMix(random));
    now += -Math.log(1 - random()) * requestGapMs;
    playRequest(call, hedgeDelay);
  }
  return traces.recent();
}

/** One simulated call: when it ends, in ms from the start of its request, and how. */
interface SimulatedCall {
  slot: Attempt;
  startsAt: number;
  settlesAt: number;
  failure: UpstreamErrorCode | undefined;
  expectedMs: number | undefined;
}

/**
 * One request as route-chat.ts plays it with two attempts: the first call, hedged (at the hedge delay, or
 * a probe's) if it has not settled by then, else failed over once if it fails; the first answer wins and
 * the other call is cancelled, a first call overtaken by its hedge leaving its wait as a latency sample.
 */
function playRequest(
  call: (tried: Set<number>, retry: boolean, startsAt: number) => SimulatedCall | undefined,
  hedgeDelay: HedgeDelay,
): void {
  const tried = new Set<number>();
  const first = call(tried, false, 0);
  if (!first) return;
  const hedgeAt = hedgeDelay.delayFor(first.expectedMs);
  const hedge = hedgeAt !== undefined && first.settlesAt > hedgeAt ? call(tried, true, hedgeAt) : undefined;
  if (!hedge) {
    const answered = settle(first) ? first : settleFailover(call(tried, true, first.settlesAt));
    if (answered) hedgeDelay.record(answered.settlesAt - answered.startsAt);
    return;
  }
  const [early, late] = first.settlesAt <= hedge.settlesAt ? [first, hedge] : [hedge, first];
  if (settle(early)) {
    late.slot.abandoned(late === first ? early.settlesAt : undefined);
    late.slot.release();
    hedgeDelay.record(early.settlesAt - early.startsAt);
    hedgeDelay.record(early.settlesAt - late.startsAt);
  } else if (settle(late)) hedgeDelay.record(late.settlesAt - late.startsAt);
}

/** Gives a call its verdict; true if it answered. */
function settle(call: SimulatedCall): boolean {
  if (call.failure) call.slot.failed(new UpstreamError(call.failure, 'simulated'));
  else call.slot.succeeded(call.settlesAt - call.startsAt);
  call.slot.release();
  return call.failure === undefined;
}

function settleFailover(call: SimulatedCall | undefined): SimulatedCall | undefined {
  return call && settle(call) ? call : undefined;
}

function outcomeOf(
  behaviour: SimulatedBehaviour,
  latencyMs: number,
  timeoutMs: number,
  roll: number,
): UpstreamErrorCode | undefined {
  if (latencyMs > timeoutMs) return 'upstream_timeout';
  if (roll < behaviour.errorRate) return 'upstream_rejected';
  if (roll < behaviour.errorRate + behaviour.garbageRate) return 'upstream_invalid';
  return undefined;
}

/** The gateway's defaults (config/config.ts), so simulated stats decay and breakers trip as in production. */
const SIMULATED_RESILIENCE: ResilienceSettings = {
  statsHalfLifeMs: 60_000,
  breaker: { failureThreshold: 3, cooldownMs: 10_000, maxCooldownMs: 300_000 },
  retryBudget: { ratio: 0.2, floor: 10, windowMs: 10_000 },
  inFlight: { minerMaxInFlight: 64, subnetMaxInFlight: 1024 },
};

/** The gateway's hedging defaults (config/config.ts). */
const SIMULATED_HEDGE: HedgeSettings = { quantile: 0.95, minDelayMs: 5, minSamples: 20 };

/** Box–Muller: one standard normal draw. */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
