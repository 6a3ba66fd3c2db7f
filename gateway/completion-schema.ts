import { z } from 'zod';
import type { ChatRequest } from '../adapters/index.ts';
import { generationFields, samplingOf } from './generation-schema.ts';

/**
 * OpenAI's legacy completions request. Subnets serve conversations, so the prompt is sent as one user turn;
 * options that need the model's raw token stream (echo, logprobs, best_of) are refused rather than faked.
 */
export const completionRequest = z.object({
  ...generationFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
  echo: z.literal(false, { error: 'echo is not supported' }).nullish(),
  logprobs: z.null({ error: 'logprobs are not supported' }).optional(),
  best_of: z.literal(1, { error: 'use x-taogate-fanout for best-of-k' }).nullish(),
  suffix: z.null({ error: 'suffix is not supported' }).optional(),
});

export type CompletionRequest = z.infer<typeof completionRequest>;

export function completionToChatRequest(body: CompletionRequest): ChatRequest {
  const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!;
  return { messages: [{ role: 'user', content: prompt }], ...samplingOf(body) };
}
