import type { ChatRequest } from '../../adapters/index.ts';
import type { Pipeline, PipelineStep } from './definition.ts';
import { PipelineStepFailed } from './errors.ts';
import {
  callStep,
  callStepOnPieces,
  embedStep,
  emptyTally,
  type StepContext,
  type StepTally,
  stepRequest,
} from './run-step.ts';
import type { StepModels } from './step-models.ts';
import { StepOutput } from './step-output.ts';
import { renderTemplate, type TemplateValues } from './template.ts';

/** What a run is asked: the input `{{input}}` stands for, and sampling for steps that set none. */
export interface PipelineRequest {
  input: string;
  sampling: Omit<ChatRequest, 'messages'>;
}

export interface PipelineRunOptions {
  models: StepModels;
  /** The client's signal: when it leaves, every step still running is cancelled. */
  signal: AbortSignal;
  /** Budget for the whole pipeline, shared by its steps. */
  deadlineMs: number;
  /** The client reads the output step's answer as it streams. */
  streamOutput: boolean;
}

export type StepStatus = 'waiting' | 'running' | 'done' | 'failed' | 'skipped' | 'cancelled';

/** How one step went; complete once the run has finished. */
export interface StepReport {
  id: string;
  /** The step's own model. */
  requestedModel: string;
  /** The model that answered: the step's own, or a fallback. */
  model: string;
  /** The miners that answered, e.g. `sn1/uid3` (several when the step made a call per piece). */
  miners: string[];
  /** Since the pipeline started; undefined for a step that never started. */
  startMs: number | undefined;
  ms: number | undefined;
  cached: boolean;
  attempts: number;
  hedged: boolean;
  fallback: boolean;
  calls: number;
  status: StepStatus;
  /** Why it failed, for failed steps. */
  error: unknown;
  promptText: string;
  /** A chat step's answer (so far). */
  output: string;
  /** An embeddings step's vector. */
  embedding: number[] | undefined;
}

export interface PipelineRun {
  readonly pipeline: Pipeline;
  /** The output step's answer, as it streams. */
  readonly output: StepOutput;
  /** Settles once every step has ended: with the failure that ended the run, or undefined. Never rejects. */
  readonly finished: Promise<PipelineStepFailed | undefined>;
  /** Each step's report, in run order. */
  reports(): StepReport[];
  elapsedMs(): number;
}

interface StepState {
  status: StepStatus;
  startedAt: number | undefined;
  endedAt: number | undefined;
  error: unknown;
  tally: StepTally;
  embedding: number[] | undefined;
}

/**
 * Runs a checked pipeline: every step starts as soon as the steps it reads are complete (or, for a step that
 * starts on partial input, as soon as a piece of its input is), so independent steps run in parallel. The
 * first failing step ends the run: steps still running are cancelled, steps waiting are skipped.
 */
export function startPipeline(
  pipeline: Pipeline,
  request: PipelineRequest,
  options: PipelineRunOptions,
): PipelineRun {
  const started = performance.now();
  const deadlineAt = started + options.deadlineMs;
  const abort = new AbortController();
  const signal = AbortSignal.any([options.signal, abort.signal]);
  const outputs = new Map(pipeline.steps.map((step) => [step.id, new StepOutput()]));
  const states = new Map<string, StepState>(
    pipeline.steps.map((step) => [
      step.id,
      {
        status: 'waiting',
        startedAt: undefined,
        endedAt: undefined,
        error: undefined,
        tally: emptyTally(),
        embedding: undefined,
      },
    ]),
  );
  const streamedFrom = new Set(pipeline.steps.flatMap((step) => step.streamInput?.from ?? []));
  let failure: PipelineStepFailed | undefined;

  async function run(step: PipelineStep): Promise<void> {
    const out = outputs.get(step.id)!;
    const state = states.get(step.id)!;
    try {
      const waitFor = step.needs.filter((need) => need !== step.streamInput?.from);
      await Promise.all(waitFor.map((need) => outputs.get(need)!.whole()));
      if (signal.aborted) throw signal.reason;
      state.status = 'running';
      state.startedAt = performance.now();
      const context: StepContext = {
        models: options.models,
        signal,
        deadlineAt,
        deadlineMs: options.deadlineMs,
        buffered: !streamedFrom.has(step.id) && !(options.streamOutput && step.id === pipeline.output),
      };
      const values = (piece?: string): TemplateValues => ({
        input: request.input,
        stepOutput: (id) =>
          piece !== undefined && id === step.streamInput?.from ? piece : outputs.get(id)!.text,
      });
      if (step.kind === 'embeddings') {
        const text = renderTemplate(step.input, values());
        state.embedding = await embedStep(step, text, context, state.tally);
      } else if (step.streamInput) {
        const source = outputs.get(step.streamInput.from)!;
        const requestFor = (piece: string) => stepRequest(step, values(piece), request.sampling);
        await callStepOnPieces(step, source, requestFor, out, context, state.tally);
      } else {
        await callStep(step, stepRequest(step, values(), request.sampling), out, context, state.tally);
      }
      out.end();
      state.status = 'done';
    } catch (error) {
      if (error instanceof PipelineStepFailed && error.step !== step.id) {
        // A step this one reads failed, or another failed while this one ran: not this step's fault.
        state.status = state.status === 'running' ? 'cancelled' : 'skipped';
        out.fail(error);
      } else if (failure) {
        state.status = 'cancelled';
        out.fail(failure);
      } else {
        failure = new PipelineStepFailed(step.id, step.model, error);
        state.status = options.signal.aborted ? 'cancelled' : 'failed';
        state.error = error;
        out.fail(failure);
        abort.abort(failure);
      }
    } finally {
      state.endedAt = performance.now();
    }
  }

  const finished = Promise.all(pipeline.steps.map(run)).then(() => failure);

  return {
    pipeline,
    output: outputs.get(pipeline.output)!,
    finished,
    elapsedMs: () => performance.now() - started,
    reports: () =>
      pipeline.steps.map((step) => {
        const { status, startedAt, endedAt, error, tally, embedding } = states.get(step.id)!;
        return {
          id: step.id,
          requestedModel: step.model,
          model: tally.servedBy ?? step.model,
          miners: tally.miners,
          startMs: startedAt === undefined ? undefined : startedAt - started,
          ms: startedAt === undefined ? undefined : (endedAt ?? performance.now()) - startedAt,
          cached: tally.calls > 0 && tally.cached,
          attempts: tally.attempts,
          hedged: tally.hedged,
          fallback: tally.fallback,
          calls: tally.calls,
          status,
          error,
          promptText: tally.promptText,
          output: outputs.get(step.id)!.text,
          embedding,
        };
      }),
  };
}
