import { parseJsonOrUndefined } from './body.ts';
import type { ChatRequest } from './types.ts';

/** The JSON body of an OpenAI chat completion request for `model`. */
export function openAiChatBody(model: string, request: ChatRequest, stream: boolean): string {
  const { messages, temperature, max_tokens, top_p, seed } = request;
  return JSON.stringify({ model, messages, temperature, max_tokens, top_p, seed, stream });
}

/**
 * The message of an OpenAI-compatible server's error body: OpenAI and vLLM send `{"error": {"message"}}`;
 * FastAPI servers, SN1's miners among them (prompting neurons/miners/epistula_miner/miner.py
 * verify_request raises HTTPException), send `{"detail": …}`.
 */
export function openAiErrorMessage(body: string): string | undefined {
  const parsed = parseJsonOrUndefined(body) as { error?: { message?: unknown }; detail?: unknown } | null;
  const message = parsed?.error?.message ?? parsed?.detail;
  return typeof message === 'string' ? message : undefined;
}
