import type { ChatMessage, ChatRequest } from '../../adapters/index.ts';
import { DeadlineExceeded } from '../errors.ts';
import type { PipelineStep } from './definition.ts';
import { StepTimeout } from './errors.ts';
import { segmentsOf } from './segments.ts';
import type { StepCallOptions, StepModels } from './step-models.ts';
import { StepOutput } from './step-output.ts';
import { renderTemplate, type TemplateValues } from './template.ts';

/** Most calls a step that starts on partial input makes; the rest of its input goes in the last one. */
const MAX_SEGMENTS = 16;
/** Calls of one such step in flight at once: pieces arrive in order, so this is rarely reached. */
const SEGMENT_CONCURRENCY = 4;

export interface StepContext {
  models: StepModels;
  /** Aborts when the client leaves or another step failed. */
  signal: AbortSignal;
  /** The pipeline's deadline, on `performance.now()`'s clock, and its whole budget. */
  deadlineAt: number;
  deadlineMs: number;
  /**
   * Nobody reads this step's answer as it streams: it is handed on whole, so a miner failing mid-answer
   * can still be replaced by the fallback model.
   */
  buffered: boolean;
}

/** What a step's calls came to, for its report. */
export interface StepTally {
  servedBy: string | undefined;
  miners: string[];
  attempts: number;
  hedged: boolean;
  /** Every call was answered by the cache. */
  cached: boolean;
  /** A model other than the step's own answered (its fallback, or its subnet's). */
  fallback: boolean;
  calls: number;
  /** The text of every message sent, for usage. */
  promptText: string;
}

export function emptyTally(): StepTally {
  return {
    servedBy: undefined,
    miners: [],
    attempts: 0,
    hedged: false,
    cached: true,
    fallback: false,
    calls: 0,
    promptText: '',
  };
}

/** The chat request a step sends, with the request's sampling under the step's own. */
export function stepRequest(
  step: PipelineStep,
  values: TemplateValues,
  sampling: Omit<ChatRequest, 'messages'>,
): ChatRequest {
  const messages: ChatMessage[] = [];
  if (step.system) messages.push({ role: 'system', content: renderTemplate(step.system, values) });
  messages.push({ role: 'user', content: renderTemplate(step.input, values) });
  return { messages, ...sampling, ...step.sampling };
}

/**
 * Runs a step's request on its model and, when that fails before any of the answer was handed on, on its
 * fallback model.
 */
export async function callStep(
  step: PipelineStep,
  request: ChatRequest,
  out: StepOutput,
  context: StepContext,
  tally: StepTally,
): Promise<void> {
  noteSent(tally, request.messages.map((m) => m.content).join('\n'));
  await withFallback(
    step,
    context,
    () => !out.started,
    async (model, options) => {
      const call = await context.models.chat(model, request, options);
      noteAnswered(step, tally, call);
      tally.hedged ||= call.hedged;
      let answer = '';
      for await (const chunk of call.text) {
        if (options.signal.aborted) throw options.signal.reason;
        if (context.buffered) answer += chunk;
        else out.append(chunk);
      }
      out.append(answer);
    },
  );
}

/** Embeds the step's one text, on its model (an embeddings step has no fallback: see definition.ts). */
export function embedStep(
  step: PipelineStep,
  text: string,
  context: StepContext,
  tally: StepTally,
): Promise<number[]> {
  noteSent(tally, text);
  return withFallback(
    step,
    context,
    () => true,
    async (model, options) => {
      const embedded = await context.models.embed(model, text, options);
      noteAnswered(step, tally, embedded);
      return embedded.vector;
    },
  );
}

/**
 * Calls the step's model and, when that fails and `canFallBack` still allows, its fallback model. Each
 * model gets the step's timeout afresh, within what is left of the pipeline's deadline.
 */
async function withFallback<T>(
  step: PipelineStep,
  context: StepContext,
  canFallBack: () => boolean,
  call: (model: string, options: StepCallOptions) => Promise<T>,
): Promise<T> {
  const models = step.fallback === undefined ? [step.model] : [step.model, step.fallback];
  let lastError: unknown;
  for (const model of models) {
    const leftMs = context.deadlineAt - performance.now();
    if (lastError !== undefined && (leftMs <= 0 || context.signal.aborted || !canFallBack())) break;
    const timeoutMs = Math.min(step.timeoutMs ?? leftMs, leftMs);
    const expired =
      step.timeoutMs !== undefined && step.timeoutMs <= leftMs
        ? () => new StepTimeout(step.id, timeoutMs)
        : () => new DeadlineExceeded(context.deadlineMs);
    // A timer cleared once the call is over: AbortSignal.timeout's would linger for the whole deadline.
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(expired()), Math.max(1, timeoutMs));
    const signal = AbortSignal.any([context.signal, timer.signal]);
    try {
      return await call(model, { signal, deadlineMs: timeoutMs, cache: step.cache, whole: context.buffered });
    } catch (error) {
      lastError = timer.signal.aborted && !context.signal.aborted ? timer.signal.reason : error;
    } finally {
      clearTimeout(timeout);
    }
  }
  throw lastError;
}

function noteSent(tally: StepTally, promptText: string): void {
  tally.promptText += (tally.promptText ? '\n' : '') + promptText;
}

function noteAnswered(
  step: PipelineStep,
  tally: StepTally,
  call: { servedBy: string; miner: string | undefined; attempts: number; cached: boolean },
): void {
  tally.calls++;
  tally.servedBy = call.servedBy;
  tally.attempts += call.attempts;
  tally.cached &&= call.cached;
  tally.fallback ||= call.servedBy !== step.model;
  if (call.miner && !tally.miners.includes(call.miner)) tally.miners.push(call.miner);
}

/**
 * A step that starts on partial input: its input is cut into pieces as the step it reads streams, one call
 * per piece, started as soon as the piece is complete. The answers are handed on in the pieces' order, each
 * followed by the whitespace that followed its piece, so the step's answer streams while its input is still
 * being written.
 */
export async function callStepOnPieces(
  step: PipelineStep,
  source: StepOutput,
  requestFor: (piece: string) => ChatRequest,
  out: StepOutput,
  context: StepContext,
  tally: StepTally,
): Promise<void> {
  const { from, split } = step.streamInput!;
  const pieces: { answer: StepOutput | undefined; separator: string; call: Promise<void> }[] = [];
  let reading = true;
  let changed = Promise.withResolvers<void>();
  const announce = () => {
    changed.resolve();
    changed = Promise.withResolvers<void>();
  };

  async function cut(): Promise<void> {
    try {
      for await (const segment of segmentsOf(source.stream(), split, MAX_SEGMENTS)) {
        if (context.signal.aborted) throw context.signal.reason;
        if (segment.text === '') {
          pieces.push({ answer: undefined, separator: segment.separator, call: Promise.resolve() });
        } else {
          const answer = new StepOutput();
          const waitFor = pieces.at(-SEGMENT_CONCURRENCY)?.call ?? Promise.resolve();
          const call = waitFor
            .then(() => callStep(step, requestFor(segment.text), answer, context, tally))
            .then(
              () => answer.end(),
              (error: unknown) => answer.fail(error),
            );
          pieces.push({ answer, separator: segment.separator, call });
        }
        announce();
      }
    } finally {
      reading = false;
      announce();
    }
  }

  async function handOn(): Promise<void> {
    for (let next = 0; ; next++) {
      while (next >= pieces.length) {
        if (!reading) return;
        await changed.promise;
      }
      const piece = pieces[next]!;
      if (piece.answer) for await (const chunk of piece.answer.stream()) out.append(chunk);
      out.append(piece.separator);
    }
  }

  const cutting = cut();
  // A failed piece fails the step at once; the cutter stops with the pipeline's abort that follows.
  cutting.catch(() => {});
  await Promise.all([cutting, handOn()]);
  if (pieces.length === 0) throw new Error(`step '${from}' answered nothing to start on`);
}
