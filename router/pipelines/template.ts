/**
 * The template language steps build their input with. Deliberately tiny, so a template from a client can
 * be checked completely before anything runs and never evaluates code: text, plus references in double
 * braces, each one of
 *
 *   {{input}}              the pipeline's input (for chat requests: the last user message)
 *   {{steps.<id>.output}}  the text another step answered
 *
 * Whitespace inside the braces is allowed. Every `{{` opens a reference, so anything else in braces is an
 * error at parse time, not text sent to a miner by mistake.
 */

/** What a reference names. */
export type TemplateRef = { kind: 'input' } | { kind: 'step'; step: string };

export interface Template {
  /** The source text, as written. */
  readonly source: string;
  readonly parts: readonly (string | TemplateRef)[];
  /** Ids of the steps the template reads, each once. */
  readonly steps: readonly string[];
}

export type TemplateParse = { ok: true; template: Template } | { ok: false; error: string };

/** Step ids: a letter, then letters, digits, `_` or `-`; short enough to name a Server-Timing metric. */
export const STEP_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

const REFERENCE = /^\s*(?:(input)|steps\.([A-Za-z][A-Za-z0-9_-]{0,63})\.output)\s*$/;

export function parseTemplate(source: string): TemplateParse {
  const parts: (string | TemplateRef)[] = [];
  const steps = new Set<string>();
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open < 0) {
      parts.push(source.slice(at));
      break;
    }
    if (open > at) parts.push(source.slice(at, open));
    const close = source.indexOf('}}', open + 2);
    if (close < 0) return { ok: false, error: `'{{' at offset ${open} is never closed with '}}'` };
    const inner = source.slice(open + 2, close);
    const match = REFERENCE.exec(inner);
    if (!match) {
      return {
        ok: false,
        error: `'{{${inner}}}' is not a reference: use {{input}} or {{steps.<id>.output}}`,
      };
    }
    const step = match[2];
    if (step === undefined) parts.push({ kind: 'input' });
    else {
      parts.push({ kind: 'step', step });
      steps.add(step);
    }
    at = close + 2;
  }
  return { ok: true, template: { source, parts, steps: [...steps] } };
}

/** The values references stand for: every step the template reads must have one. */
export interface TemplateValues {
  input: string;
  stepOutput(step: string): string;
}

export function renderTemplate(template: Template, values: TemplateValues): string {
  let text = '';
  for (const part of template.parts) {
    if (typeof part === 'string') text += part;
    else text += part.kind === 'input' ? values.input : values.stepOutput(part.step);
  }
  return text;
}
