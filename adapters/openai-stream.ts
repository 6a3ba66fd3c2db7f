import { UpstreamError } from './errors.ts';
import { sseData } from './sse-data.ts';

// OpenAI's streamed chat completion: `data: {chat.completion.chunk}` events, text in
// `choices[i].delta.content`, and a final `data: [DONE]` (API reference, "The chat completion chunk object";
// vLLM, SGLang and SN1's miners send the same). Only what we read is checked; everything else may vary.
// Checked by hand rather than with a schema: this runs once per streamed token, on the hot path.

const DONE = '[DONE]';

/**
 * The text deltas of an OpenAI chat completion stream (first choice), from its decoded body text.
 * Anything that is not such a stream, or one cut off before `[DONE]`, is `upstream_invalid`.
 */
export async function* openAiStreamText(text: AsyncIterable<string>): AsyncGenerator<string> {
  const events = sseData(text);
  let done = false;
  try {
    for (let next = await events.next(); !next.done; next = await events.next()) {
      if (next.value === DONE) {
        done = true;
        return;
      }
      yield* deltasOf(next.value);
    }
  } finally {
    // What follows [DONE] is read to its end out of sight: stopping the body early would make Node destroy
    // it, and undici the kept-alive connection with it (a new connection, and an AbortError with its stack,
    // per streamed answer). A stream that never ends is cut by the attempt's deadline.
    if (done) void drain(events);
    else await events.return(undefined);
  }
  throw new UpstreamError('upstream_invalid', 'the stream ended before [DONE]');
}

async function drain(events: AsyncIterator<string>): Promise<void> {
  try {
    while (!(await events.next()).done) {}
  } catch {
    // The answer was whole at [DONE]; whatever happens after it is no one's concern.
  }
}

/** The first choice's text in one event's data. */
function* deltasOf(data: string): Generator<string> {
  const chunk = parseJson(data);
  if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) throw wrongShape();
  const { choices, error } = chunk as { choices?: unknown; error?: unknown };
  if (error !== undefined && error !== null) throw reportedError(error);
  if (choices === undefined) return;
  if (!Array.isArray(choices)) throw wrongShape();
  for (const choice of choices) {
    const content = contentOf(choice);
    if (content) yield content;
  }
}

/** The first choice's text delta; undefined for other choices and empty deltas. */
function contentOf(choice: unknown): string | undefined {
  if (typeof choice !== 'object' || choice === null) throw wrongShape();
  const { index, delta } = choice as { index?: unknown; delta?: unknown };
  if (index !== undefined && typeof index !== 'number') throw wrongShape();
  if (delta === undefined || delta === null) return undefined;
  if (typeof delta !== 'object') throw wrongShape();
  const content = (delta as { content?: unknown }).content;
  if (content !== undefined && content !== null && typeof content !== 'string') throw wrongShape();
  return (index ?? 0) === 0 ? (content ?? undefined) : undefined;
}

function reportedError(error: unknown): UpstreamError {
  const message = (error as { message?: unknown }).message;
  const said = typeof message === 'string' ? message.slice(0, 300) : 'no message';
  return new UpstreamError('upstream_invalid', `the stream reported an error: ${said}`);
}

function wrongShape(): UpstreamError {
  return new UpstreamError('upstream_invalid', 'the stream sent a chunk of the wrong shape');
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new UpstreamError('upstream_invalid', 'the stream sent a chunk that is not JSON');
  }
}
