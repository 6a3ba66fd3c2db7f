import type { ChatRequest } from '../adapters/index.ts';
import { type HttpError, invalidRequest } from './errors.ts';

/** What one generation request may ask for, beyond the body-size cap (TAOGATE_MAX_MESSAGES, …). */
export interface RequestLimits {
  maxMessages: number;
  /** The most output tokens a request may ask for (`max_tokens`, `max_completion_tokens`). */
  maxOutputTokens: number;
}

/** A 400 naming the parameter when the request asks for more than the gateway allows; undefined when within. */
export function exceededLimit(request: ChatRequest, limits: RequestLimits): HttpError | undefined {
  if (request.messages.length > limits.maxMessages) {
    return invalidRequest(
      `Too many messages: ${request.messages.length}; this gateway takes at most ${limits.maxMessages}`,
      'messages',
      'too_many_messages',
    );
  }
  if (request.max_tokens !== undefined && request.max_tokens > limits.maxOutputTokens) {
    return invalidRequest(
      `max_tokens is ${request.max_tokens}; this gateway allows at most ${limits.maxOutputTokens}`,
      'max_tokens',
      'invalid_value',
    );
  }
  return undefined;
}
