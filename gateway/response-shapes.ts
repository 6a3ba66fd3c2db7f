import { randomUUID } from 'node:crypto';

/** How an answer is written for one OpenAI endpoint: whole, or as stream chunks. */
export interface ResponseShape {
  newId(): string;
  /** `created`: seconds since the epoch, now unless given. */
  complete(id: string, model: string, text: string, usage: Usage, created?: number): unknown;
  /** Sent before any text (chat announces the assistant role); undefined when the endpoint has none. */
  opening(id: string, model: string, created: number): unknown;
  delta(id: string, model: string, created: number, text: string): unknown;
  closing(id: string, model: string, created: number): unknown;
  usage(id: string, model: string, created: number, usage: Usage): unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

// Subnets report no token counts; ~4 characters per token is the usual estimate for English text.
const tokensIn = (length: number) => Math.ceil(length / 4);

export function estimateTokens(text: string): number {
  return tokensIn(text.length);
}

export function usageOf(promptText: string, completion: string): Usage {
  return usageOfLength(promptText, completion.length);
}

/** Usage from the completion's length alone: a cached answer is held as JSON, not as its text. */
export function usageOfLength(promptText: string, completionLength: number): Usage {
  const prompt_tokens = estimateTokens(promptText);
  const completion_tokens = tokensIn(completionLength);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

/**
 * What varies between complete answers of one shape, each stood for by a string no field of the shape
 * holds, so that its JSON literal marks its place in the shape's JSON once.
 */
const SLOTS = {
  id: '\u0000id\u0000',
  created: '\u0000created\u0000',
  model: '\u0000model\u0000',
  content: '\u0000content\u0000',
  usage: '\u0000usage\u0000',
} as const;
type Slot = keyof typeof SLOTS;

/** A shape's complete answer as JSON text around its slots: `pieces[i]`, `slots[i]`, …, the last piece. */
interface AnswerTemplate {
  pieces: string[];
  slots: Slot[];
}

const templates = new WeakMap<ResponseShape, AnswerTemplate>();

function templateOf(shape: ResponseShape): AnswerTemplate {
  let template = templates.get(shape);
  if (template) return template;
  const { id, created, model, content, usage } = SLOTS;
  const json = JSON.stringify(shape.complete(id, model, content, usage as never, created as never));
  const marks = (Object.keys(SLOTS) as Slot[])
    .map((slot) => ({ slot, literal: JSON.stringify(SLOTS[slot]) }))
    .map((mark) => ({ ...mark, at: json.indexOf(mark.literal) }))
    .filter((mark) => mark.at >= 0)
    .sort((a, b) => a.at - b.at);
  template = { pieces: [], slots: marks.map((mark) => mark.slot) };
  let from = 0;
  for (const mark of marks) {
    template.pieces.push(json.slice(from, mark.at));
    from = mark.at + mark.literal.length;
  }
  template.pieces.push(json.slice(from));
  templates.set(shape, template);
  return template;
}

/**
 * A complete answer as JSON text, its content given as a JSON string literal already and spliced in as it
 * is: a cached answer is escaped once, when stored, instead of on every hit. The rest of the answer is the
 * shape's own JSON, made once per shape with its varying fields left as slots, filled by concatenation.
 */
export function completeJson(
  shape: ResponseShape,
  id: string,
  model: string,
  contentJson: string,
  usage: Usage,
): string {
  const { pieces, slots } = templateOf(shape);
  let json = pieces[0]!;
  for (let i = 0; i < slots.length; i++) {
    json += slotJson(slots[i]!, id, model, contentJson, usage) + pieces[i + 1]!;
  }
  return json;
}

function slotJson(slot: Slot, id: string, model: string, contentJson: string, usage: Usage): string {
  switch (slot) {
    case 'id':
      return JSON.stringify(id);
    case 'created':
      return String(now());
    case 'model':
      return JSON.stringify(model);
    case 'content':
      return contentJson;
    case 'usage':
      return JSON.stringify(usage);
  }
}

const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => () => `${prefix}-${randomUUID().replaceAll('-', '')}`;

type ChatDelta = { role?: 'assistant'; content?: string };
const chatChunk = (id: string, model: string, created: number, delta: ChatDelta, finish: 'stop' | null) => ({
  id,
  object: 'chat.completion.chunk' as const,
  created,
  model,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});

/** POST /v1/chat/completions */
export const chatCompletionShape: ResponseShape = {
  newId: newId('chatcmpl'),
  complete: (id, model, content, usage, created = now()) => ({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage,
    system_fingerprint: null,
  }),
  opening: (id, model, created) => chatChunk(id, model, created, { role: 'assistant', content: '' }, null),
  delta: (id, model, created, content) => chatChunk(id, model, created, { content }, null),
  closing: (id, model, created) => chatChunk(id, model, created, {}, 'stop'),
  usage: (id, model, created, usage) => ({ ...chatChunk(id, model, created, {}, null), choices: [], usage }),
};

const textChunk = (id: string, model: string, created: number, text: string, finish: 'stop' | null) => ({
  id,
  object: 'text_completion' as const,
  created,
  model,
  choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
});

/** POST /v1/completions (the legacy text endpoint): the same answer, as text rather than a message. */
export const textCompletionShape: ResponseShape = {
  newId: newId('cmpl'),
  complete: (id, model, text, usage, created = now()) => ({
    ...textChunk(id, model, created, text, 'stop'),
    usage,
  }),
  opening: () => undefined,
  delta: (id, model, created, text) => textChunk(id, model, created, text, null),
  closing: (id, model, created) => textChunk(id, model, created, '', 'stop'),
  usage: (id, model, created, usage) => ({ ...textChunk(id, model, created, '', null), choices: [], usage }),
};
