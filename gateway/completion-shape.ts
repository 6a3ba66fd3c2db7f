import { randomUUID } from 'node:crypto';

/** The shapes OpenAI's chat completion responses have, built from a routed answer. */

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

// Subnets report no token counts; ~4 characters per token is the usual estimate for English text.
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function usageOf(promptText: string, completion: string): Usage {
  const prompt_tokens = estimateTokens(promptText);
  const completion_tokens = estimateTokens(completion);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

export function completionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

export function chatCompletion(id: string, model: string, content: string, usage: Usage) {
  return {
    id,
    object: 'chat.completion' as const,
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage,
    system_fingerprint: null,
  };
}

export function chatChunk(
  id: string,
  model: string,
  created: number,
  delta: { role?: 'assistant'; content?: string },
  finishReason: 'stop' | null = null,
) {
  return {
    id,
    object: 'chat.completion.chunk' as const,
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}
