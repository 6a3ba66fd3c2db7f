import { z } from 'zod';
import type { ChatRequest } from '../adapters/index.ts';
import { type HttpError, invalidRequest } from './errors.ts';

/** Fan-out asks this many miners at most, whatever the configuration allows. */
const MAX_FANOUT = 5;

/** What the chat and the legacy completions endpoints share; unknown fields are ignored, as OpenAI's SDKs expect. */
export const generationFields = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.int().min(1).max(1_000_000).nullish(),
  seed: z.int().nullish(),
  n: z.literal(1, { error: 'only n=1 is supported' }).nullish(),
  user: z.string().optional(),
  /** taogate's own options, beside OpenAI's (the SDKs send them through `extra_body`). */
  taogate: z
    .object({
      fanout: z.int().min(1).max(MAX_FANOUT).optional(),
      /** Opt this request in to (or out of) the response cache, like `x-taogate-cache: on|off`. */
      cache: z.boolean().optional(),
      /** For `pipeline/<name>` models: on failure, report the outputs of the steps that completed. */
      partial_results: z.boolean().optional(),
    })
    .nullish(),
};

type GenerationBody = z.infer<z.ZodObject<typeof generationFields>>;

/** The sampling parameters subnets take, from either endpoint's body. */
export function samplingOf(body: GenerationBody, maxTokens = body.max_tokens): Omit<ChatRequest, 'messages'> {
  const sampling: Omit<ChatRequest, 'messages'> = {};
  if (body.temperature != null) sampling.temperature = body.temperature;
  if (body.top_p != null) sampling.top_p = body.top_p;
  if (maxTokens != null) sampling.max_tokens = maxTokens;
  if (body.seed != null) sampling.seed = body.seed;
  return sampling;
}

/**
 * How many miners to ask: the `x-taogate-fanout` header, else `taogate.fanout` in the body, else 1. Only
 * for complete (non-streaming) answers: best-of-k needs every answer whole before the first byte is sent.
 */
export function fanoutOf(
  header: string | undefined,
  body: GenerationBody,
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
