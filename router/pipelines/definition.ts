import { z } from 'zod';
import type { ChatRequest } from '../../adapters/index.ts';
import { type SegmentSplit, SPLITS } from './segments.ts';
import { parseTemplate, STEP_ID, type Template } from './template.ts';

/** Most steps one pipeline may have: pipelines are for short chains, not workflows. */
const MAX_STEPS = 16;
const MAX_TEMPLATE_CHARS = 32_768;

/** What a step's model does with its input, which decides how the step is called and what it outputs. */
export type StepKind = 'chat' | 'embeddings';

/** How a step uses the response cache (when the gateway has one). */
export type CachePolicy =
  /** As a direct request would: cached when the step is deterministic (temperature 0). */
  | 'auto'
  /** Served from and stored in the cache whatever the temperature. */
  | 'on'
  /** Neither read nor stored: for steps whose answer must be fresh every time. */
  | 'off'
  /** Asks a miner even when cached, and stores the new answer. */
  | 'refresh';

const stepFields = z.strictObject({
  id: z.string().regex(STEP_ID, 'a letter, then letters, digits, _ or - (at most 64)'),
  model: z.string().min(1),
  /** The user message the step sends; by default the pipeline's input. */
  input: z.string().max(MAX_TEMPLATE_CHARS).default('{{input}}'),
  /** A system message sent before it. */
  system: z.string().max(MAX_TEMPLATE_CHARS).optional(),
  /** Steps to wait for besides those the templates read. */
  after: z.array(z.string()).max(MAX_STEPS).default([]),
  timeout_ms: z.int().min(1).max(600_000).optional(),
  /** A model to ask when the step's own model (and its subnet's fallbacks) cannot answer. */
  fallback: z.string().min(1).optional(),
  cache: z.enum(['auto', 'on', 'off', 'refresh']).default('auto'),
  /** Start on each piece of the step it reads as that step streams, instead of on its whole answer. */
  stream_input: z.enum(SPLITS).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.int().min(1).max(1_000_000).optional(),
  seed: z.int().optional(),
});

/** A pipeline as clients send it and config files hold it (JSON or YAML). */
const pipelineDefinition = z.strictObject({
  description: z.string().max(1000).optional(),
  steps: z.array(stepFields).min(1).max(MAX_STEPS),
  /** The step whose answer is the pipeline's; by default the last one. */
  output: z.string().optional(),
});

export interface PipelineStep {
  id: string;
  model: string;
  kind: StepKind;
  fallback: string | undefined;
  input: Template;
  system: Template | undefined;
  /** Every step this one waits for (or streams from), in definition order. */
  needs: readonly string[];
  /** Set when the step starts on pieces of `from`'s answer as it streams. */
  streamInput: { from: string; split: SegmentSplit } | undefined;
  timeoutMs: number | undefined;
  cache: CachePolicy;
  sampling: Omit<ChatRequest, 'messages'>;
}

/** A checked pipeline: references resolve, models exist, no cycles; steps in a runnable order. */
export interface Pipeline {
  name: string | undefined;
  description: string | undefined;
  steps: readonly PipelineStep[];
  output: string;
  /** What the output step answers: text, or a vector. */
  outputKind: StepKind;
}

/** Why a definition was refused: the step at fault (when one is), and the field's path. */
export interface PipelineProblem {
  step: string | undefined;
  path: (string | number)[];
  message: string;
}

export type PipelineCheck = { ok: true; pipeline: Pipeline } | { ok: false; problem: PipelineProblem };

/**
 * What kind of step a model id makes: `unsupported` for a routable model of a task steps do not call
 * (images), undefined for one that is not routable at all.
 */
export type ModelKindOf = (model: string) => StepKind | 'unsupported' | undefined;

/** Validates a definition completely, before anything runs: every fault names its step. */
export function checkPipeline(raw: unknown, kindOf: ModelKindOf, name?: string): PipelineCheck {
  const parsed = pipelineDefinition.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [first, index] = issue.path;
    const step = first === 'steps' && typeof index === 'number' ? stepIdAt(raw, index) : undefined;
    const problem = { step, path: issue.path as (string | number)[], message: issue.message };
    return { ok: false, problem };
  }
  const definition = parsed.data;
  const fail = (index: number, field: string, message: string): PipelineCheck => ({
    ok: false,
    problem: { step: definition.steps[index]!.id, path: ['steps', index, field], message },
  });

  const indexOf = new Map<string, number>();
  definition.steps.forEach((step, index) => {
    if (!indexOf.has(step.id)) indexOf.set(step.id, index);
  });
  const steps: PipelineStep[] = [];
  for (const [index, raw] of definition.steps.entries()) {
    if (indexOf.get(raw.id) !== index) return fail(index, 'id', `step id '${raw.id}' is used twice`);
    const kind = kindOf(raw.model);
    if (kind === undefined || kind === 'unsupported') return fail(index, 'model', unusable(raw.model, kind));
    if (raw.fallback !== undefined) {
      const fallbackKind = kindOf(raw.fallback);
      if (fallbackKind === undefined || fallbackKind === 'unsupported') {
        return fail(index, 'fallback', unusable(raw.fallback, fallbackKind));
      }
      if (fallbackKind !== kind) {
        return fail(index, 'fallback', `'${raw.fallback}' is a ${fallbackKind} model; the step is ${kind}`);
      }
      // As for subnet profiles: another model's vectors live in another space, useless beside the first's.
      if (kind === 'embeddings')
        return fail(index, 'fallback', 'an embeddings step cannot fall back to another model');
    }
    const templates: { field: 'input' | 'system'; source: string | undefined }[] = [
      { field: 'input', source: raw.input },
      { field: 'system', source: raw.system },
    ];
    const parsedTemplates: Partial<Record<'input' | 'system', Template>> = {};
    const needs = new Set<string>();
    for (const { field, source } of templates) {
      if (source === undefined) continue;
      const template = parseTemplate(source);
      if (!template.ok) return fail(index, field, template.error);
      for (const ref of template.template.steps) {
        if (!indexOf.has(ref)) return fail(index, field, `references unknown step '${ref}'`);
        const refKind = kindOf(definition.steps[indexOf.get(ref)!]!.model);
        if (refKind === 'embeddings') {
          return fail(index, field, `reads step '${ref}', whose ${refKind} output is not text`);
        }
        needs.add(ref);
      }
      parsedTemplates[field] = template.template;
    }
    if (kind === 'embeddings' && raw.system !== undefined) {
      return fail(index, 'system', 'an embeddings step takes no system message');
    }
    for (const after of raw.after) {
      if (!indexOf.has(after)) return fail(index, 'after', `waits for unknown step '${after}'`);
      needs.add(after);
    }
    let streamInput: PipelineStep['streamInput'];
    if (raw.stream_input !== undefined) {
      const streamed = parsedTemplates.input!.steps;
      if (streamed.length !== 1) {
        return fail(index, 'stream_input', "needs an input that reads exactly one step's output");
      }
      if (kind !== 'chat') return fail(index, 'stream_input', 'only chat steps can start on partial input');
      streamInput = { from: streamed[0]!, split: raw.stream_input };
    }
    const { temperature, top_p, max_tokens, seed } = raw;
    steps.push({
      id: raw.id,
      model: raw.model,
      kind,
      fallback: raw.fallback,
      input: parsedTemplates.input!,
      system: parsedTemplates.system,
      needs: [...needs],
      streamInput,
      timeoutMs: raw.timeout_ms,
      cache: raw.cache,
      sampling: definedOnly({ temperature, top_p, max_tokens, seed }),
    });
  }

  const cycle = findCycle(steps);
  if (cycle) {
    const index = indexOf.get(cycle[0]!)!;
    return fail(index, 'input', `is part of a cycle: ${cycle.join(' → ')}`);
  }
  const output = definition.output ?? steps.at(-1)!.id;
  if (!indexOf.has(output)) {
    return {
      ok: false,
      problem: { step: undefined, path: ['output'], message: `names unknown step '${output}'` },
    };
  }
  return {
    ok: true,
    pipeline: {
      name,
      description: definition.description,
      steps: runOrder(steps),
      output,
      outputKind: steps.find((step) => step.id === output)!.kind,
    },
  };
}

function unusable(model: string, kind: 'unsupported' | undefined): string {
  if (kind === 'unsupported') return `'${model}' serves a task steps cannot call (chat and embeddings only)`;
  return model.startsWith('pipeline/')
    ? `'${model}' is a pipeline; a step calls a model`
    : `unknown model '${model}'`;
}

/** A path of step ids that returns to its start, or undefined when the steps form a DAG. */
function findCycle(steps: readonly PipelineStep[]): string[] | undefined {
  const byId = new Map(steps.map((step) => [step.id, step]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const need of byId.get(id)!.needs) {
      const cycle = visit(need);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const step of steps) {
    const cycle = visit(step.id);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Steps ordered so each comes after what it needs, otherwise in definition order (Kahn's algorithm). */
function runOrder(steps: readonly PipelineStep[]): PipelineStep[] {
  const placed = new Set<string>();
  const ordered: PipelineStep[] = [];
  while (ordered.length < steps.length) {
    const next = steps.find((step) => !placed.has(step.id) && step.needs.every((need) => placed.has(need)))!;
    placed.add(next.id);
    ordered.push(next);
  }
  return ordered;
}

function stepIdAt(raw: unknown, index: number): string | undefined {
  const id = (raw as { steps?: { id?: unknown }[] } | null)?.steps?.[index]?.id;
  return typeof id === 'string' ? id : undefined;
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
