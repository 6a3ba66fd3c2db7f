import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPipeline, type ModelKindOf } from './definition.ts';
import { parseTemplate, renderTemplate } from './template.ts';

const kinds: Record<string, 'chat' | 'embeddings'> = {
  'sn1/apex-chat': 'chat',
  'sn18/cortex-chat': 'chat',
  'sn4/targon-chat': 'chat',
  'sn99/embed': 'embeddings',
};
const kindOf: ModelKindOf = (model) => kinds[model];

function problemOf(definition: unknown) {
  const checked = checkPipeline(definition, kindOf);
  if (checked.ok) throw new Error('expected the pipeline to be refused');
  return checked.problem;
}

describe('templates', () => {
  it('render the input and other steps’ outputs, and nothing else', () => {
    const parsed = parseTemplate('Q: {{input}} / {{ steps.draft.output }} / {{steps.draft.output}}');
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.template.steps).toEqual(['draft']);
    const text = renderTemplate(parsed.template, { input: '{{input}}', stepOutput: () => 'D' });
    // Values are never re-parsed: a `{{` in an answer stays text.
    expect(text).toBe('Q: {{input}} / D / D');
  });

  it('never throw, and leave text without braces as it is', () => {
    fc.assert(
      fc.property(fc.string(), (source) => {
        const parsed = parseTemplate(source);
        if (!source.includes('{{')) {
          expect(parsed.ok && renderTemplate(parsed.template, { input: '', stepOutput: () => '' })).toBe(
            source,
          );
        }
      }),
    );
  });

  it('refuse anything in braces that is not a reference', () => {
    for (const source of ['{{ constructor }}', '{{steps.a}}', '{{ input.length }}', 'open {{input', '{{}}']) {
      expect(parseTemplate(source).ok, source).toBe(false);
    }
  });
});

describe('checking a pipeline', () => {
  it('orders steps so each follows what it reads, and defaults the output to the last step', () => {
    const checked = checkPipeline(
      {
        steps: [
          { id: 'merge', model: 'sn4/targon-chat', input: '{{steps.a.output}} {{steps.b.output}}' },
          { id: 'a', model: 'sn1/apex-chat' },
          { id: 'b', model: 'sn18/cortex-chat', after: ['a'] },
        ],
      },
      kindOf,
    );
    if (!checked.ok) throw new Error(checked.problem.message);
    expect(checked.pipeline.steps.map((step) => step.id)).toEqual(['a', 'b', 'merge']);
    expect(checked.pipeline.output).toBe('b');
    expect(checked.pipeline.steps[0]!.input.source).toBe('{{input}}');
  });

  it('names the step of every mistake', () => {
    expect(problemOf({ steps: [{ id: 'a', model: 'sn1/apex-chat', after: ['a'] }] })).toMatchObject({
      step: 'a',
      message: 'is part of a cycle: a → a',
    });
    expect(problemOf({ steps: [{ id: 'x', model: 'pipeline/other' }] })).toMatchObject({
      step: 'x',
      path: ['steps', 0, 'model'],
    });
    expect(
      problemOf({
        steps: [
          { id: 'a', model: 'sn1/apex-chat' },
          { id: 'a', model: 'sn1/apex-chat' },
        ],
      }),
    ).toMatchObject({
      step: 'a',
      message: "step id 'a' is used twice",
    });
    expect(problemOf({ steps: [{ id: 'a', model: 'sn1/apex-chat', timeout_ms: -1 }] })).toMatchObject({
      step: 'a',
      path: ['steps', 0, 'timeout_ms'],
    });
    expect(
      problemOf({ steps: [{ id: 'a', model: 'sn1/apex-chat', fallback: 'sn99/embed' }] }).message,
    ).toMatch(/embeddings model; the step is chat/);
    expect(
      problemOf({
        steps: [
          { id: 'e', model: 'sn99/embed' },
          { id: 'c', model: 'sn1/apex-chat', input: '{{steps.e.output}}' },
        ],
      }),
    ).toMatchObject({ step: 'c', message: "reads step 'e', whose embeddings output is not text" });
    expect(
      problemOf({ steps: [{ id: 'a', model: 'sn1/apex-chat', input: 'x', stream_input: 'sentence' }] })
        .message,
    ).toMatch(/exactly one step/);
    expect(problemOf({ steps: [{ id: 'a', model: 'sn1/apex-chat' }], output: 'z' })).toMatchObject({
      step: undefined,
      path: ['output'],
    });
    expect(problemOf({ steps: [{ id: 'a', model: 'sn1/apex-chat', extra: 1 }] }).step).toBe('a');
  });
});
