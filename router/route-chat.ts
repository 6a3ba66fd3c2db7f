import { type ChatAdapter, type ChatRequest, UpstreamError } from '../adapters/index.ts';
import type { DialPolicy, MetagraphSource } from '../chain/index.ts';
import type { SubnetProfile } from '../config/profiles.ts';
import { type Candidate, candidatesOf } from './candidates.ts';
import { DeadlineExceeded, NoHealthyMiner, UpstreamExhausted } from './errors.ts';
import { selectMiner } from './select.ts';

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
  random?: () => number;
  onRefused?: (netuid: number, refused: { uid: number; ip: string; reason: string }) => void;
}

/**
 * Sends a chat request to one miner of the subnet, weighted by incentive; when a miner fails before its
 * first chunk, retries on another one, within the request's deadline.
 */
export function createChatRouter(options: ChatRouterOptions) {
  const refusedSeen = new Set<string>();

  function candidates(netuid: number): Candidate[] {
    const snapshot = options.source.current();
    if (!snapshot) throw new NoHealthyMiner(netuid, 'the metagraph is not loaded yet');
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
    return set.candidates;
  }

  async function route(
    profile: SubnetProfile,
    request: ChatRequest,
    routeOptions: RouteOptions,
  ): Promise<Routed> {
    const pool = candidates(profile.netuid);
    const adapter = options.adapterFor(profile);
    const started = performance.now();
    const tried = new Set<number>();
    let lastError: UpstreamError | undefined;
    while (tried.size < options.maxAttempts) {
      const remaining = routeOptions.deadlineMs - (performance.now() - started);
      if (remaining <= 0) throw new DeadlineExceeded(routeOptions.deadlineMs);
      const miner = selectMiner(pool, tried, options.random);
      if (!miner) break;
      tried.add(miner.uid);
      try {
        const text = await adapter.chat(miner, request, {
          signal: routeOptions.signal,
          timeoutMs: remaining,
        });
        return { miner, attempts: tried.size, text: await withFirstChunk(text) };
      } catch (error) {
        if (routeOptions.signal.aborted) throw error;
        lastError =
          error instanceof UpstreamError ? error : new UpstreamError('upstream_unreachable', String(error));
      }
    }
    if (!lastError) throw new NoHealthyMiner(profile.netuid, 'no miner left to try');
    if (lastError.code === 'upstream_timeout' && performance.now() - started >= routeOptions.deadlineMs) {
      throw new DeadlineExceeded(routeOptions.deadlineMs);
    }
    throw new UpstreamExhausted(profile.netuid, tried.size, lastError);
  }

  return { route, candidates };
}

export type ChatRouter = ReturnType<typeof createChatRouter>;

/** Waits for the first chunk, so that a miner failing before it can still be replaced by another. */
async function withFirstChunk(text: AsyncIterable<string>): Promise<AsyncIterable<string>> {
  const iterator = text[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      } finally {
        // A consumer that stops early (client gone) must release the upstream connection.
        await iterator.return?.();
      }
    },
  };
}
