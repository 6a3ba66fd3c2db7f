import { z } from 'zod';
import type { ChatRequest } from '../adapters/index.ts';
import { generationFields, samplingOf } from './generation-schema.ts';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z
  .union([z.string(), z.array(textPart).min(1)])
  .transform((value) => (typeof value === 'string' ? value : value.map((part) => part.text).join('')));

const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  // Assistant turns that only carried tool calls have null content.
  content: z.union([content, z.null()]).transform((value) => value ?? ''),
  name: z.string().optional(),
});

/** The subset of OpenAI's chat completion request that subnets can serve. */
export const chatCompletionRequest = z.object({
  ...generationFields,
  messages: z.array(message).min(1).max(1024),
  max_completion_tokens: z.int().min(1).max(1_000_000).nullish(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;

export function toChatRequest(body: ChatCompletionRequest): ChatRequest {
  const messages = body.messages.map(({ role, content }) => ({ role, content }));
  return { messages, ...samplingOf(body, body.max_completion_tokens ?? body.max_tokens) };
}
