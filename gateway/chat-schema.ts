import { z } from 'zod';
import type { ChatRequest } from '../adapters/index.ts';
import { type HttpError, invalidRequest } from './errors.ts';

/** Fan-out asks this many miners at most, whatever the configuration allows. */
const MAX_FANOUT = 5;

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

/** The subset of OpenAI's chat completion request that subnets can serve; unknown fields are ignored. */
export const chatCompletionRequest = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1).max(1024),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.int().min(1).max(1_000_000).nullish(),
  max_completion_tokens: z.int().min(1).max(1_000_000).nullish(),
  seed: z.int().nullish(),
  n: z.literal(1, { error: 'only n=1 is supported' }).nullish(),
  user: z.string().optional(),
  /** taogate's own options, beside OpenAI's (the SDKs send them through `extra_body`). */
  taogate: z.object({ fanout: z.int().min(1).max(MAX_FANOUT).optional() }).nullish(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;

export function toChatRequest(body: ChatCompletionRequest): ChatRequest {
  const request: ChatRequest = { messages: body.messages.map(({ role, content }) => ({ role, content })) };
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.top_p = body.top_p;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) request.max_tokens = maxTokens;
  if (body.seed != null) request.seed = body.seed;
  return request;
}

/**
 * How many miners to ask: the `x-taogate-fanout` header, else `taogate.fanout` in the body, else 1. Only
 * for complete (non-streaming) answers: best-of-k needs every answer whole before the first byte is sent.
 */
export function fanoutOf(
  header: string | undefined,
  body: ChatCompletionRequest,
  maxFanout: number,
): { ok: true; fanout: number } | { ok: false; error: HttpError } {
  const param = header === undefined ? 'taogate.fanout' : 'x-taogate-fanout';
  const fanout = header === undefined ? (body.taogate?.fanout ?? 1) : Number(header.trim());
  if (!Number.isInteger(fanout) || fanout < 1 || fanout > maxFanout) {
    const error = invalidRequest(
      `${param} must be an integer from 1 to ${maxFanout}`,
      param,
      'invalid_value',
    );
    return { ok: false, error };
  }
  if (fanout > 1 && body.stream) {
    const error = invalidRequest(
      `${param} above 1 needs stream: false: the best of several answers is known only once all are complete`,
      param,
      'fanout_requires_complete_answers',
    );
    return { ok: false, error };
  }
  return { ok: true, fanout };
}
