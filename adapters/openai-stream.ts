import { z } from 'zod';
import { UpstreamError } from './errors.ts';
import { sseData } from './sse-data.ts';

// OpenAI's streamed chat completion: `data: {chat.completion.chunk}` events, text in
// `choices[i].delta.content`, and a final `data: [DONE]` (API reference, "The chat completion chunk object";
// vLLM, SGLang and SN1's miners send the same). Only what we read is checked; everything else may vary.
const chunkSchema = z.object({
  choices: z
    .array(
      z.object({
        index: z.int().optional(),
        delta: z.object({ content: z.string().nullish() }).nullish(),
      }),
    )
    .optional(),
  error: z.object({ message: z.string().optional() }).nullish(),
});

const DONE = '[DONE]';

/**
 * The text deltas of an OpenAI chat completion stream (first choice), from its decoded body text.
 * Anything that is not such a stream, or one cut off before `[DONE]`, is `upstream_invalid`.
 */
export async function* openAiStreamText(text: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const data of sseData(text)) {
    if (data === DONE) return;
    const chunk = chunkSchema.safeParse(parseJson(data));
    if (!chunk.success)
      throw new UpstreamError('upstream_invalid', 'the stream sent a chunk of the wrong shape');
    if (chunk.data.error) {
      const message = chunk.data.error.message ?? 'no message';
      throw new UpstreamError('upstream_invalid', `the stream reported an error: ${message.slice(0, 300)}`);
    }
    for (const choice of chunk.data.choices ?? []) {
      const content = choice.delta?.content;
      if ((choice.index ?? 0) === 0 && content) yield content;
    }
  }
  throw new UpstreamError('upstream_invalid', 'the stream ended before [DONE]');
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new UpstreamError('upstream_invalid', 'the stream sent a chunk that is not JSON');
  }
}
