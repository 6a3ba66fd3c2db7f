import { randomUUID } from 'node:crypto';

// What an OpenAI-compatible miner sends back (OpenAI API reference: "The chat completion object", "The chat
// completion chunk object"; streams are `data: {chunk}\n\n` events ending with `data: [DONE]\n\n`).

export interface OpenAiAnswer {
  id: string;
  model: string;
  created: number;
}

export function openAiAnswer(model: string): OpenAiAnswer {
  return { id: `chatcmpl-${randomUUID()}`, model, created: Math.floor(Date.now() / 1000) };
}

export function completionJson(answer: OpenAiAnswer, content: string): string {
  return JSON.stringify({
    ...answer,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'stop' }],
  });
}

/** One SSE event carrying a chunk: the role first, then content deltas, then the finish reason. */
export function chunkEvent(
  answer: OpenAiAnswer,
  delta: { role?: 'assistant'; content?: string },
  finishReason: 'stop' | null = null,
): string {
  const chunk = {
    ...answer,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

export const DONE_EVENT = 'data: [DONE]\n\n';

/** OpenAI's error body, for the statuses an OpenAI server gives itself (404 unknown model, 400 bad body). */
export function errorJson(message: string, code: string): string {
  return JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } });
}
