import { type CallOptions, UpstreamError } from '../adapters/index.ts';
import type { Candidate } from './candidates.ts';
import type { Clock } from './clock.ts';
import type { Attempt } from './miner-health.ts';

/**
 * How a call to one miner ended before its answer was handed on. Answers are streams of chunks: chat text
 * as it arrives, or one chunk holding a whole answer (embeddings, images).
 */
export type AttemptOutcome<C = string> =
  /** The first chunk arrived; `text` replays it, then streams the rest. */
  | { kind: 'answered'; miner: Candidate; text: AsyncIterable<C>; firstChunkMs: number }
  | { kind: 'failed'; miner: Candidate; error: UpstreamError }
  /** The gateway or the client gave up on it: no verdict on the miner. */
  | { kind: 'cancelled'; miner: Candidate; error: unknown };

/** A call to one miner, under way. */
export interface RunningAttempt<C = string> {
  readonly miner: Candidate;
  /** The miner's time to first chunk as far as known when it was chosen: when to hedge it (hedge.ts). */
  readonly expectedMs: number | undefined;
  /** Settles once the first chunk arrives or the call ends without one; never rejects. */
  readonly outcome: Promise<AttemptOutcome<C>>;
  /** Time since the call was made. */
  elapsedMs(): number;
  /**
   * Stops the call (aborting its signal, so undici releases the socket) and frees its slot. A call that
   * already answered is closed too; either way the miner is not blamed for it.
   */
  cancel(): void;
}

export interface AttemptCall<C = string> {
  /** The adapter's call of this request to `miner`, whatever the task. */
  call: (miner: Candidate, options: CallOptions) => Promise<AsyncIterable<C>>;
  miner: Candidate;
  /** From `health.dispatch(miner)`: the slot is taken and the verdict is recorded through it. */
  slot: Attempt;
  /** The client's signal: when it aborts, so does the call. */
  signal: AbortSignal;
  timeoutMs: number;
  clock: Clock;
  /**
   * Read the whole answer before settling. A client waiting for a complete answer has been sent nothing
   * yet, so a miner failing mid-answer can still be failed over instead of failing the request.
   */
  whole?: boolean;
  /** A second call racing a slow first one (told to the adapter's observers). */
  hedge?: boolean;
  /** See RunningAttempt. */
  expectedMs?: number;
}

/**
 * Calls one miner and waits for its first chunk, so that a miner failing before it can still be replaced
 * (failover) or raced (hedging, fan-out). Records the miner's verdict, except for calls cancelled by the
 * gateway or the client: a loser of a race did nothing wrong.
 */
export function startAttempt<C>(call: AttemptCall<C>): RunningAttempt<C> {
  const { miner, slot, clock } = call;
  const { signal, abort, release } = attemptSignal(call.signal, slot.release);
  let answer: AsyncIterator<C> | undefined;
  let firstChunkSeen = false;
  const started = clock();
  // A stream that breaks after its first chunk is the miner's failure too, unless the call was given up on.
  const failedMidAnswer = (error: unknown) => {
    if (!signal.aborted) slot.failed(asUpstreamError(error));
  };

  async function run(): Promise<AttemptOutcome<C>> {
    try {
      const stream = await call.call(miner, { signal, timeoutMs: call.timeoutMs, hedge: call.hedge });
      answer = stream[Symbol.asyncIterator]();
      const first = await answer.next();
      if (signal.aborted) throw signal.reason;
      const firstChunkMs = clock() - started;
      firstChunkSeen = true;
      if (call.whole) {
        const chunks = await readToEnd(first, answer);
        if (signal.aborted) throw signal.reason;
        release();
        slot.succeeded(firstChunkMs);
        return { kind: 'answered', miner, text: replayWhole(chunks), firstChunkMs };
      }
      slot.succeeded(firstChunkMs);
      return { kind: 'answered', miner, text: replay(first, answer, release, failedMidAnswer), firstChunkMs };
    } catch (error) {
      release();
      if (signal.aborted) {
        // Overtaken by a hedge before its first chunk: how long it kept the request waiting still says how
        // slow it is. A hedge that loses was cut short by a call with a head start: its wait says nothing.
        const outwaited = signal.reason instanceof AttemptCancelled && !firstChunkSeen && !call.hedge;
        slot.abandoned(outwaited ? clock() - started : undefined);
        return { kind: 'cancelled', miner, error };
      }
      const failure = asUpstreamError(error);
      slot.failed(failure);
      return { kind: 'failed', miner, error: failure };
    }
  }

  return {
    miner,
    expectedMs: call.expectedMs,
    outcome: run(),
    elapsedMs: () => clock() - started,
    cancel() {
      abort(new AttemptCancelled(miner));
      // An answer already streaming holds its body open until its iterator is closed.
      void answer?.return?.()?.catch(() => {});
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
 * The signal of one call: aborted by `abort` (the gateway gave up on it) or by the client's signal, which
 * it follows only until `release`. The in-flight slot is held until then, that is until the answer is
 * streamed, or until the call is abandoned: a call nobody waits for must not keep a miner looking full.
 *
 * One AbortController whose listener on the client's signal is removed when the call ends, rather than
 * AbortSignal.any: that makes a composite per call that follows both sources and is let go only through
 * weak references (~3% of the gateway's CPU per request).
 */
function attemptSignal(
  client: AbortSignal,
  releaseSlot: () => void,
): { signal: AbortSignal; abort: (reason: unknown) => void; release: () => void } {
  const controller = new AbortController();
  const followClient = () => abort(client.reason);
  const release = () => {
    client.removeEventListener('abort', followClient);
    releaseSlot();
  };
  const abort = (reason: unknown) => {
    controller.abort(reason);
    release();
  };
  if (client.aborted) controller.abort(client.reason);
  else client.addEventListener('abort', followClient, { once: true });
  return { signal: controller.signal, abort, release };
}

async function readToEnd<C>(first: IteratorResult<C>, rest: AsyncIterator<C>): Promise<C[]> {
  const chunks = first.done ? [] : [first.value];
  for (let next = await rest.next(); !next.done; next = await rest.next()) chunks.push(next.value);
  return chunks;
}

async function* replayWhole<C>(chunks: C[]): AsyncGenerator<C> {
  yield* chunks;
}

/**
 * The answer from its first chunk on; `onEnd` runs once it is read to its end or the reader stops,
 * `onFailure` when the upstream breaks off.
 */
async function* replay<C>(
  first: IteratorResult<C>,
  rest: AsyncIterator<C>,
  onEnd: () => void,
  onFailure: (error: unknown) => void,
): AsyncGenerator<C> {
  try {
    if (first.done) return;
    yield first.value;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } catch (error) {
    onFailure(error);
    throw error;
  } finally {
    try {
      // A consumer that stops early (client gone) must release the upstream connection.
      await rest.return?.();
    } finally {
      onEnd();
    }
  }
}
