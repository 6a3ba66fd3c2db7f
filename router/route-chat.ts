import {
  type Adapter,
  type CallOptions,
  type ChatRequest,
  type Task,
  type TaskAnswers,
  type TaskRequests,
  taskCallOf,
  type UpstreamError,
} from '../adapters/index.ts';
import type { DialPolicy, MetagraphSource } from '../chain/index.ts';
import type { SubnetProfile } from '../config/profiles.ts';
import { type RunningAttempt, startAttempt } from './attempt.ts';
import { createCandidatePool } from './candidate-pool.ts';
import type { Candidate } from './candidates.ts';
import { type Clock, monotonicClock } from './clock.ts';
import { DeadlineExceeded, MinersAtCapacity, NoHealthyMiner, UpstreamExhausted } from './errors.ts';
import { askMany, type FannedOut } from './fan-out.ts';
import { firstSettledOrHedge, HedgeDelay, type HedgeSettings, hedgeWait } from './hedge.ts';
import { type Choice, createMinerHealth, type MinerReport } from './miner-health.ts';
import { RetryBudget } from './retry-budget.ts';
import type { ResilienceSettings } from './settings.ts';

export interface RouteOptions {
  signal: AbortSignal;
  /** Whole-request budget; each attempt gets what is left of it. */
  deadlineMs: number;
  /** The client waits for a complete answer: read it whole before choosing it, so mid-answer failures fail over. */
  whole?: boolean;
}

export interface Routed {
  miner: Candidate;
  attempts: number;
  /** A second miner was asked because the first was slow to start answering. */
  hedged: boolean;
  /** The answer's text: the first chunk has already arrived, so it will not fail over anymore. */
  text: AsyncIterable<string>;
}

/** A whole answer of any task (embeddings, images), and how it was obtained. */
export interface RoutedAnswer<A> extends Omit<Routed, 'text'> {
  answer: A;
}

/** The routing core's result: chat text, or one chunk holding a whole answer. */
interface RoutedChunks<C> extends Omit<Routed, 'text'> {
  text: AsyncIterable<C>;
}

/** One call of a request to one miner, as the adapter makes it: a stream of chunks. */
type MinerCall<C> = (miner: Candidate, options: CallOptions) => Promise<AsyncIterable<C>>;

export interface ChatRouterOptions {
  source: MetagraphSource;
  adapterFor: (profile: SubnetProfile) => Adapter;
  /**
   * The profiles routed to. Only needed for those whose upstreams the profile lists itself (protocol
   * `openai`) rather than the chain: their candidates are its endpoints.
   */
  profiles?: readonly SubnetProfile[];
  ownHotkey: string;
  dialPolicy: DialPolicy;
  /** Miners tried per request before giving up (the first try plus retries on other miners). */
  maxAttempts: number;
  resilience: ResilienceSettings;
  /** Hedging of slow first chunks; off when undefined. */
  hedge?: HedgeSettings;
  /** Most miners one request may ask at once (`fanOut`); 1 turns fan-out off. */
  maxFanout?: number;
  clock?: Clock;
  random?: () => number;
  onRefused?: (netuid: number, refused: { uid: number; ip: string; reason: string }) => void;
}

/**
 * What a client turned away for capacity is told to wait: slots free as answers finish, typically within
 * seconds; one second is the shortest wait the header can say, and clients back off further on their own.
 */
const AT_CAPACITY_RETRY_AFTER_S = 1;

/**
 * Sends a request (chat, or any task: `routeTask`) to one miner of the subnet, weighted by incentive and by what the gateway observed
 * of each miner, skipping miners whose circuit is open or that are full; when a miner fails before its
 * first chunk, retries on another one, within the request's deadline and the subnet's retry budget. When
 * the first chunk is later than the subnet's usual tail, asks a second miner too (a hedge) and keeps
 * whichever answers first, cancelling the other.
 */
export function createChatRouter(options: ChatRouterOptions) {
  const clock = options.clock ?? monotonicClock;
  const health = createMinerHealth(options.resilience, clock);
  const budgets = new Map<number, RetryBudget>();
  // One map per kind of wait, keyed by netuid: no key string to build on every request.
  const hedgeDelays = { whole: new Map<number, HedgeDelay>(), firstChunk: new Map<number, HedgeDelay>() };
  const candidates = createCandidatePool({
    ...options,
    onCandidates: (netuid, pool) => health.retain(netuid, pool),
  });

  function budgetOf(netuid: number): RetryBudget {
    let budget = budgets.get(netuid);
    if (!budget) {
      budget = new RetryBudget(options.resilience.retryBudget, clock);
      budgets.set(netuid, budget);
    }
    return budget;
  }

  function refusal(netuid: number, choice: Exclude<Choice, { kind: 'chosen' }>): Error {
    switch (choice.kind) {
      case 'at-capacity':
        return new MinersAtCapacity(netuid, AT_CAPACITY_RETRY_AFTER_S);
      case 'circuits-open': {
        const seconds = Math.max(1, Math.ceil((choice.reopensAt - clock()) / 1000));
        return new NoHealthyMiner(netuid, 'every miner failed repeatedly and is cooling down', seconds);
      }
      case 'none-left':
        return new NoHealthyMiner(netuid, 'no miner left to try');
    }
  }

  /**
   * Streams are hedged on the subnet's first-chunk times, whole answers on its whole-answer times: each is
   * what keeps its client waiting, and a whole answer that started but never ends is as late as one that
   * never starts.
   */
  function hedgeDelayOf(netuid: number, whole: boolean): HedgeDelay | undefined {
    if (!options.hedge) return undefined;
    const delays = whole ? hedgeDelays.whole : hedgeDelays.firstChunk;
    let delay = delays.get(netuid);
    if (!delay) {
      delay = new HedgeDelay(options.hedge);
      delays.set(netuid, delay);
    }
    return delay;
  }

  async function route(
    profile: SubnetProfile,
    request: ChatRequest,
    routeOptions: RouteOptions,
  ): Promise<Routed> {
    return routeCall(profile, callOf(profile, 'chat', request, routeOptions.whole === true), routeOptions);
  }

  /**
   * Routes a request of any task whose answer comes whole (embeddings, images) through the same selection,
   * breakers, retries, hedging and budgets as chat; resolves with the answer once a miner gave a valid one.
   */
  async function routeTask<T extends Exclude<Task, 'chat'>>(
    task: T,
    profile: SubnetProfile,
    request: TaskRequests[T],
    routeOptions: RouteOptions,
  ): Promise<RoutedAnswer<TaskAnswers[T]>> {
    const call = callOf(profile, task, request, true);
    const oneChunk: MinerCall<TaskAnswers[T]> = async (miner, callOptions) => {
      const answer = await call(miner, callOptions);
      return (async function* () {
        yield answer;
      })();
    };
    const { text, ...routed } = await routeCall(profile, oneChunk, routeOptions);
    // Reading the one chunk to its end frees the miner's slot.
    for await (const answer of text) return { ...routed, answer };
    throw new Error('an answered attempt replayed no answer');
  }

  /** The adapter's call of `task` for this request, with the profile's per-attempt timeout. */
  function callOf<T extends Task>(
    profile: SubnetProfile,
    task: T,
    request: TaskRequests[T],
    whole: boolean,
  ): (miner: Candidate, callOptions: CallOptions) => Promise<TaskAnswers[T]> {
    const call = taskCallOf(options.adapterFor(profile), task);
    if (!call)
      throw new Error(`the ${profile.protocol} adapter of subnet ${profile.netuid} cannot serve ${task}`);
    const timeoutCapMs = profile.timeoutSeconds * 1000;
    return (miner, callOptions) =>
      call(miner, request, {
        ...callOptions,
        timeoutMs: Math.min(callOptions.timeoutMs, timeoutCapMs),
        whole,
      });
  }

  /** The routing core every task shares: one miner at a time, failover, hedging, budgets. */
  async function routeCall<C>(
    profile: SubnetProfile,
    call: MinerCall<C>,
    routeOptions: RouteOptions,
  ): Promise<RoutedChunks<C>> {
    const { netuid } = profile;
    const pool = candidates(netuid);
    const budget = budgetOf(netuid);
    const whole = routeOptions.whole === true;
    const hedgeDelay = hedgeDelayOf(netuid, whole);
    budget.recordRequest();
    const started = clock();
    const tried = new Set<number>();
    const running = new Set<RunningAttempt<C>>();
    let hedged = false;
    /** Set once the hedge timer fired, whether or not a hedge could go: one hedge decision per request. */
    let hedgeDecided = hedgeDelay === undefined;
    let lastError: UpstreamError | undefined;

    /** Starts a call to the next miner (a hedge of the running one, or not), or says why none can go. */
    function launch(hedge = false): Launch {
      const choice = health.choose(netuid, pool, tried, options.random, tried.size > 0);
      if (choice.kind !== 'chosen') return choice;
      // Hedges and failovers alike are extra load on the subnet: both come out of its retry budget.
      // For a retry, an empty budget is as final as no miner left.
      if (tried.size > 0 && !budget.tryRetry()) return { kind: 'none-left' };
      const miner = choice.miner;
      tried.add(miner.uid);
      const attempt = startAttempt({
        call,
        miner,
        slot: health.dispatch(miner),
        signal: routeOptions.signal,
        timeoutMs: routeOptions.deadlineMs - (clock() - started),
        clock,
        whole: routeOptions.whole,
        hedge,
        expectedMs: choice.expectedMs,
      });
      running.add(attempt);
      return { kind: 'launched' };
    }

    const first = launch();
    if (first.kind !== 'launched') throw refusal(netuid, first);
    let answered = false;
    try {
      while (running.size > 0) {
        const hedgeInMs = hedgeDecided || running.size !== 1 ? undefined : hedgeWait(hedgeDelay, running);
        const next = await firstSettledOrHedge(running, hedgeInMs);
        if (next === 'hedge') {
          hedgeDecided = true;
          if (tried.size < options.maxAttempts && launch(true).kind === 'launched') hedged = true;
          continue;
        }
        running.delete(next.attempt);
        const outcome = next.outcome;
        if (outcome.kind === 'answered') {
          answered = true;
          hedgeDelay?.record(whole ? next.attempt.elapsedMs() : outcome.firstChunkMs);
          return { miner: outcome.miner, attempts: tried.size, hedged, text: outcome.text };
        }
        if (outcome.kind === 'cancelled') throw outcome.error;
        lastError = outcome.error;
        // While a hedge is still running, it is the failover.
        if (running.size > 0 || tried.size >= options.maxAttempts) continue;
        if (routeOptions.deadlineMs - (clock() - started) <= 0) break;
        // A retry that finds no miner (or no budget) ends with the failure that made it one.
        launch();
      }
    } finally {
      for (const attempt of running) {
        // A loser's wait so far is a floor of its first chunk time: left out, the tail would look only as
        // slow as the winners, and the hedge delay would shrink with every hedge.
        if (answered) hedgeDelay?.record(attempt.elapsedMs());
        attempt.cancel();
      }
    }
    if (!lastError) throw new NoHealthyMiner(netuid, 'no miner left to try');
    if (clock() - started >= routeOptions.deadlineMs) throw new DeadlineExceeded(routeOptions.deadlineMs);
    throw new UpstreamExhausted(netuid, tried.size, lastError);
  }

  /**
   * Queries `fanout` distinct miners at once and returns the best answer (see rankAnswers). Costs the
   * subnet `fanout` calls by the client's explicit choice, so it is bounded by `maxFanout` and the in-flight
   * limits rather than by the retry budget.
   */
  function fanOut(
    profile: SubnetProfile,
    request: ChatRequest,
    fanOutOptions: RouteOptions & { fanout: number },
  ): Promise<FannedOut> {
    return askMany({
      netuid: profile.netuid,
      pool: candidates(profile.netuid),
      call: callOf(profile, 'chat', request, true),
      health,
      clock,
      random: options.random,
      refuse: (choice) => refusal(profile.netuid, choice),
      ...fanOutOptions,
    });
  }

  /** What the gateway observed of each candidate miner of a subnet; empty while it has none. Read-only. */
  function stats(netuid: number): MinerReport[] {
    try {
      return health.report(candidates(netuid));
    } catch (error) {
      if (error instanceof NoHealthyMiner) return [];
      throw error;
    }
  }

  return { route, routeTask, fanOut, maxFanout: options.maxFanout ?? 1, stats };
}

export type ChatRouter = ReturnType<typeof createChatRouter>;

/** Whether a call went out, or why none could. */
type Launch = { kind: 'launched' } | Exclude<Choice, { kind: 'chosen' }>;
