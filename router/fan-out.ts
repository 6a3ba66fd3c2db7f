import type { CallOptions, UpstreamError, UpstreamErrorCode } from '../adapters/index.ts';
import { type AttemptOutcome, asUpstreamError, type RunningAttempt, startAttempt } from './attempt.ts';
import type { Candidate } from './candidates.ts';
import type { Clock } from './clock.ts';
import { DeadlineExceeded, UpstreamExhausted } from './errors.ts';
import type { Choice, MinerHealth } from './miner-health.ts';
import { rankAnswers } from './rank-answers.ts';

/** How one queried miner fared in a fan-out. */
export type FanOutVerdict =
  /** Its answer was returned. */
  | 'won'
  /** It answered, but another answer ranked higher. */
  | 'outranked'
  /** It failed before or while answering (the code says how). */
  | UpstreamErrorCode;

export interface FannedOut {
  winner: Candidate;
  text: string;
  /** Every miner queried, in the order asked. */
  queried: { miner: Candidate; verdict: FanOutVerdict }[];
}

export interface FanOutCall {
  netuid: number;
  pool: readonly Candidate[];
  /** The adapter's chat call of this request to one miner. */
  call: (miner: Candidate, options: CallOptions) => Promise<AsyncIterable<string>>;
  health: MinerHealth;
  clock: Clock;
  random: (() => number) | undefined;
  /** The error for a request no miner can take. */
  refuse: (choice: Exclude<Choice, { kind: 'chosen' }>) => Error;
  signal: AbortSignal;
  deadlineMs: number;
  /** Distinct miners to ask; fewer when fewer can take a call. */
  fanout: number;
}

/** A queried miner's complete answer, or why it has none. */
type Collected = { text: string; latencyMs: number } | { error: UpstreamError };

/**
 * Asks up to `fanout` distinct miners the same question at once, waits until every one has answered or
 * failed (each call bounded by the deadline), and returns the best answer by `rankAnswers`.
 */
export async function askMany(call: FanOutCall): Promise<FannedOut> {
  const { health, clock } = call;
  const started = clock();
  const tried = new Set<number>();
  const running: RunningAttempt[] = [];
  while (running.length < call.fanout) {
    const choice = health.choose(call.netuid, call.pool, tried, call.random);
    if (choice.kind !== 'chosen') {
      if (running.length === 0) throw call.refuse(choice);
      break;
    }
    tried.add(choice.miner.uid);
    running.push(
      startAttempt({
        call: call.call,
        miner: choice.miner,
        slot: health.dispatch(choice.miner),
        signal: call.signal,
        timeoutMs: call.deadlineMs,
        clock,
      }),
    );
  }

  let collected: Collected[];
  try {
    collected = await Promise.all(
      running.map(async (attempt) => readWhole(await attempt.outcome, started, clock)),
    );
  } catch (clientGone) {
    // Only a client gone away ends the wait early: the calls still open must not hold their miners' slots.
    for (const attempt of running) attempt.cancel();
    throw clientGone;
  }
  if (call.signal.aborted) throw call.signal.reason;

  const answered = collected.flatMap((result, i) => ('text' in result ? [{ ...result, index: i }] : []));
  const best = answered[rankAnswers(answered)[0] ?? -1];
  const queried = running.map(({ miner }, i) => {
    const result = collected[i]!;
    const verdict: FanOutVerdict =
      'error' in result ? result.error.code : i === best?.index ? 'won' : 'outranked';
    return { miner, verdict };
  });
  if (best) return { winner: running[best.index]!.miner, text: best.text, queried };

  // No answer, and at least one miner asked: every call failed.
  const lastError = collected.flatMap((result) => ('error' in result ? [result.error] : [])).at(-1)!;
  if (clock() - started >= call.deadlineMs) throw new DeadlineExceeded(call.deadlineMs);
  throw new UpstreamExhausted(call.netuid, running.length, lastError);
}

/** Reads an answered call to its end; a failure mid-answer disqualifies it like one before the first chunk. */
async function readWhole(outcome: AttemptOutcome, started: number, clock: Clock): Promise<Collected> {
  if (outcome.kind === 'failed') return { error: outcome.error };
  if (outcome.kind === 'cancelled') throw outcome.error;
  let text = '';
  try {
    for await (const chunk of outcome.text) text += chunk;
  } catch (error) {
    return { error: asUpstreamError(error) };
  }
  return { text, latencyMs: clock() - started };
}
