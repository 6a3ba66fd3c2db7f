import { type ChatAdapter, type ChatRequest, UpstreamError } from '../adapters/index.ts';
import type { DialPolicy, MetagraphSnapshot, MetagraphSource } from '../chain/index.ts';
import type { SubnetProfile } from '../config/profiles.ts';
import { type Candidate, candidatesOf } from './candidates.ts';
import { type Clock, monotonicClock } from './clock.ts';
import { DeadlineExceeded, MinersAtCapacity, NoHealthyMiner, UpstreamExhausted } from './errors.ts';
import { type Choice, createMinerHealth, type MinerReport } from './miner-health.ts';
import { RetryBudget } from './retry-budget.ts';
import type { ResilienceSettings } from './settings.ts';

export interface RouteOptions {
  signal: AbortSignal;
  /** Whole-request budget; each attempt gets what is left of it. */
  deadlineMs: number;
}

export interface Routed {
  miner: Candidate;
  attempts: number;
  /** The answer's text: the first chunk has already arrived, so it will not fail over anymore. */
  text: AsyncIterable<string>;
}

export interface ChatRouterOptions {
  source: MetagraphSource;
  adapterFor: (profile: SubnetProfile) => ChatAdapter;
  ownHotkey: string;
  dialPolicy: DialPolicy;
  /** Miners tried per request before giving up (the first try plus retries on other miners). */
  maxAttempts: number;
  resilience: ResilienceSettings;
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
 * Sends a chat request to one miner of the subnet, weighted by incentive and by what the gateway observed
 * of each miner, skipping miners whose circuit is open or that are full; when a miner fails before its
 * first chunk, retries on another one, within the request's deadline and the subnet's retry budget.
 */
export function createChatRouter(options: ChatRouterOptions) {
  const clock = options.clock ?? monotonicClock;
  const health = createMinerHealth(options.resilience, clock);
  const budgets = new Map<number, RetryBudget>();
  // Candidates change only with the metagraph: worked out once per snapshot, not per request.
  const candidatesBySnapshot = new WeakMap<MetagraphSnapshot, Map<number, readonly Candidate[]>>();
  const refusedSeen = new Set<string>();

  function candidates(netuid: number): readonly Candidate[] {
    const snapshot = options.source.current();
    if (!snapshot) throw new NoHealthyMiner(netuid, 'the metagraph is not loaded yet');
    let bySubnet = candidatesBySnapshot.get(snapshot);
    if (!bySubnet) {
      bySubnet = new Map();
      candidatesBySnapshot.set(snapshot, bySubnet);
    }
    const known = bySubnet.get(netuid);
    if (known) return known;
    const subnet = snapshot.subnets.find((s) => s.netuid === netuid);
    if (!subnet) throw new NoHealthyMiner(netuid, 'the subnet is not on chain');
    const set = candidatesOf(subnet, options.ownHotkey, options.dialPolicy);
    for (const refused of set.refused) {
      const key = `${netuid}/${refused.uid}/${refused.ip}`;
      if (refusedSeen.has(key)) continue;
      refusedSeen.add(key);
      options.onRefused?.(netuid, refused);
    }
    if (set.candidates.length === 0) throw new NoHealthyMiner(netuid, 'no miner serves a dialable axon');
    health.retain(netuid, set.candidates);
    bySubnet.set(netuid, set.candidates);
    return set.candidates;
  }

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

  async function route(
    profile: SubnetProfile,
    request: ChatRequest,
    routeOptions: RouteOptions,
  ): Promise<Routed> {
    const { netuid } = profile;
    const pool = candidates(netuid);
    const adapter = options.adapterFor(profile);
    const budget = budgetOf(netuid);
    budget.recordRequest();
    const started = clock();
    const tried = new Set<number>();
    let lastError: UpstreamError | undefined;
    while (tried.size < options.maxAttempts) {
      const remaining = routeOptions.deadlineMs - (clock() - started);
      if (remaining <= 0) throw new DeadlineExceeded(routeOptions.deadlineMs);
      const choice = health.choose(netuid, pool, tried, options.random);
      if (choice.kind !== 'chosen') {
        // A retry that finds no miner ends with the failure that made it one.
        if (lastError) break;
        throw refusal(netuid, choice);
      }
      if (tried.size > 0 && !budget.tryRetry()) break;
      const miner = choice.miner;
      tried.add(miner.uid);
      const attempt = health.dispatch(miner);
      const release = releaseOnAbort(attempt.release, routeOptions.signal);
      const callStarted = clock();
      try {
        const text = await adapter.chat(miner, request, {
          signal: routeOptions.signal,
          timeoutMs: remaining,
        });
        const streamed = await withFirstChunk(text, release);
        attempt.succeeded(clock() - callStarted);
        return { miner, attempts: tried.size, text: streamed };
      } catch (error) {
        release();
        if (routeOptions.signal.aborted) {
          attempt.abandoned();
          throw error;
        }
        lastError =
          error instanceof UpstreamError ? error : new UpstreamError('upstream_unreachable', String(error));
        attempt.failed(lastError);
      }
    }
    if (!lastError) throw new NoHealthyMiner(netuid, 'no miner left to try');
    if (lastError.code === 'upstream_timeout' && clock() - started >= routeOptions.deadlineMs) {
      throw new DeadlineExceeded(routeOptions.deadlineMs);
    }
    throw new UpstreamExhausted(netuid, tried.size, lastError);
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

  return { route, candidates, stats };
}

export type ChatRouter = ReturnType<typeof createChatRouter>;

/**
 * The in-flight slot is held until the answer is streamed; a client that leaves before reading it must
 * free the slot too, or a subnet would fill up with calls nobody is waiting for.
 */
function releaseOnAbort(release: () => void, signal: AbortSignal): () => void {
  const releaseOnce = () => {
    signal.removeEventListener('abort', releaseOnce);
    release();
  };
  signal.addEventListener('abort', releaseOnce, { once: true });
  return releaseOnce;
}

/**
 * Waits for the first chunk, so that a miner failing before it can still be replaced by another; `onEnd`
 * runs once the answer is read to its end or the reader stops.
 */
async function withFirstChunk(
  text: AsyncIterable<string>,
  onEnd: () => void,
): Promise<AsyncIterable<string>> {
  const iterator = text[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      } finally {
        try {
          // A consumer that stops early (client gone) must release the upstream connection.
          await iterator.return?.();
        } finally {
          onEnd();
        }
      }
    },
  };
}
