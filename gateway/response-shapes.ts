import { randomUUID } from 'node:crypto';

/** How an answer is written for one OpenAI endpoint: whole, or as stream chunks. */
export interface ResponseShape {
  newId(): string;
  complete(id: string, model: string, text: string, usage: Usage): unknown;
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

/** Stands for the content in a complete answer until the content's own JSON literal takes its place. */
const CONTENT_SLOT = '\u0000content\u0000';
const CONTENT_SLOT_JSON = JSON.stringify(CONTENT_SLOT);

/**
 * A complete answer as JSON text, its content given as a JSON string literal already and spliced in as it
 * is: a cached answer is escaped once, when stored, instead of on every hit. Only the content could spell
 * the slot, and id, object, created and model come before it: the first occurrence is the content's.
 */
export function completeJson(
  shape: ResponseShape,
  id: string,
  model: string,
  contentJson: string,
  usage: Usage,
): string {
  const json = JSON.stringify(shape.complete(id, model, CONTENT_SLOT, usage));
  const at = json.indexOf(CONTENT_SLOT_JSON);
  return json.slice(0, at) + contentJson + json.slice(at + CONTENT_SLOT_JSON.length);
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
  complete: (id, model, content, usage) => ({
    id,
    object: 'chat.completion',
    created: now(),
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
  complete: (id, model, text, usage) => ({ ...textChunk(id, model, now(), text, 'stop'), usage }),
  opening: () => undefined,
  delta: (id, model, created, text) => textChunk(id, model, created, text, null),
  closing: (id, model, created) => textChunk(id, model, created, '', 'stop'),
  usage: (id, model, created, usage) => ({ ...textChunk(id, model, created, '', null), choices: [], usage }),
};
