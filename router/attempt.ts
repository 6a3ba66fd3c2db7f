import { type ChatAdapter, type ChatRequest, UpstreamError } from '../adapters/index.ts';
import type { Candidate } from './candidates.ts';
import type { Clock } from './clock.ts';
import type { Attempt } from './miner-health.ts';

/** How a call to one miner ended before its answer was handed on. */
export type AttemptOutcome =
  /** The first chunk arrived; `text` replays it, then streams the rest. */
  | { kind: 'answered'; miner: Candidate; text: AsyncIterable<string>; firstChunkMs: number }
  | { kind: 'failed'; miner: Candidate; error: UpstreamError }
  /** The gateway or the client gave up on it: no verdict on the miner. */
  | { kind: 'cancelled'; miner: Candidate; error: unknown };

/** A call to one miner, under way. */
export interface RunningAttempt {
  readonly miner: Candidate;
  /** Settles once the first chunk arrives or the call ends without one; never rejects. */
  readonly outcome: Promise<AttemptOutcome>;
  /** Time since the call was made. */
  elapsedMs(): number;
  /**
   * Stops the call (aborting its signal, so undici releases the socket) and frees its slot. A call that
   * already answered is closed too; either way the miner is not blamed for it.
   */
  cancel(): void;
}

export interface AttemptCall {
  adapter: ChatAdapter;
  miner: Candidate;
  /** From `health.dispatch(miner)`: the slot is taken and the verdict is recorded through it. */
  slot: Attempt;
  request: ChatRequest;
  /** The client's signal: when it aborts, so does the call. */
  signal: AbortSignal;
  timeoutMs: number;
  clock: Clock;
}

/**
 * Calls one miner and waits for its first chunk, so that a miner failing before it can still be replaced
 * (failover) or raced (hedging, fan-out). Records the miner's verdict, except for calls cancelled by the
 * gateway or the client: a loser of a race did nothing wrong.
 */
export function startAttempt(call: AttemptCall): RunningAttempt {
  const { miner, slot, clock } = call;
  const cancelled = new AbortController();
  const signal = AbortSignal.any([call.signal, cancelled.signal]);
  // The slot is held until the answer is read to its end, or until the call is abandoned: a call nobody
  // waits for must not keep a miner looking full.
  const release = releaseOnAbort(slot.release, signal);
  let answer: AsyncIterator<string> | undefined;
  const started = clock();

  async function run(): Promise<AttemptOutcome> {
    try {
      const text = await call.adapter.chat(miner, call.request, { signal, timeoutMs: call.timeoutMs });
      answer = text[Symbol.asyncIterator]();
      const first = await answer.next();
      if (signal.aborted) throw signal.reason;
      const firstChunkMs = clock() - started;
      slot.succeeded(firstChunkMs);
      return { kind: 'answered', miner, text: replay(first, answer, release), firstChunkMs };
    } catch (error) {
      release();
      if (signal.aborted) {
        slot.abandoned();
        return { kind: 'cancelled', miner, error };
      }
      const failure = asUpstreamError(error);
      slot.failed(failure);
      return { kind: 'failed', miner, error: failure };
    }
  }

  return {
    miner,
    outcome: run(),
    elapsedMs: () => clock() - started,
    cancel() {
      cancelled.abort(new AttemptCancelled(miner));
      // An answer already streaming holds its body open until its iterator is closed.
      void answer?.return?.()?.catch(() => {});
      release();
    },
  };
}

/** The abort reason of a call the gateway no longer needs: another miner answered first. */
class AttemptCancelled extends Error {
  readonly code = 'attempt_cancelled';
  constructor(miner: Candidate) {
    super(`the call to sn${miner.netuid}/uid${miner.uid} was cancelled: the request no longer needs it`);
    this.name = 'AttemptCancelled';
  }
}

/** Adapters throw UpstreamError; anything else that escapes one is a broken exchange. */
export function asUpstreamError(error: unknown): UpstreamError {
  return error instanceof UpstreamError ? error : new UpstreamError('upstream_unreachable', String(error));
}

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

/** The answer from its first chunk on; `onEnd` runs once it is read to its end or the reader stops. */
function replay(
  first: IteratorResult<string>,
  rest: AsyncIterator<string>,
  onEnd: () => void,
): AsyncIterable<string> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
      } finally {
        try {
          // A consumer that stops early (client gone) must release the upstream connection.
          await rest.return?.();
        } finally {
          onEnd();
        }
      }
    },
  };
}
