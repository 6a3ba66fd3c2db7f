import { cappedDecoder, MAX_UPSTREAM_BYTES } from './body.ts';
import { UpstreamError } from './errors.ts';
import { sseDataDecoder } from './sse-data.ts';

// OpenAI's streamed chat completion: `data: {chat.completion.chunk}` events, text in
// `choices[i].delta.content`, and a final `data: [DONE]` (API reference, "The chat completion chunk object";
// vLLM, SGLang and SN1's miners send the same). Only what we read is checked; everything else may vary.
// Checked by hand rather than with a schema: this runs once per streamed token, on the hot path.

const DONE = '[DONE]';

/**
 * The text deltas of an OpenAI chat completion stream (first choice), from its body as it arrives: the
 * deltas of the events in one read come out as one chunk, so the tokens an upstream sent together cost the
 * layers above one step, not one each. Anything that is not such a stream, or one cut off before `[DONE]`,
 * is `upstream_invalid`; so is a body past `maxBytes`.
 */
export async function* openAiStreamText(
  body: AsyncIterable<Uint8Array>,
  maxBytes = MAX_UPSTREAM_BYTES,
): AsyncGenerator<string> {
  const reads = body[Symbol.asyncIterator]();
  const decoder = cappedDecoder(maxBytes);
  const events = sseDataDecoder();
  let done = false;
  try {
    for (let read = await reads.next(); !read.done; read = await reads.next()) {
      const batch = textOf(events.push(decoder.decode(read.value)));
      // Text read before a failure in the same read still goes first, as it would have one event at a time.
      if (batch.text) yield batch.text;
      if (batch.failure) throw batch.failure;
      if (batch.done) {
        done = true;
        return;
      }
    }
  } finally {
    // What follows [DONE] is read to its end out of sight: stopping the body early would make Node destroy
    // it, and undici the kept-alive connection with it (a new connection, and an AbortError with its stack,
    // per streamed answer). A stream that never ends is cut by the attempt's deadline.
    if (done) void drain(reads);
    else await reads.return?.();
  }
  throw new UpstreamError('upstream_invalid', 'the stream ended before [DONE]');
}

/** The first choice's text in some events' data, up to `[DONE]` or the first event that is not valid. */
function textOf(events: readonly string[]): { text: string; done: boolean; failure?: UpstreamError } {
  let text = '';
  for (const data of events) {
    if (data === DONE) return { text, done: true };
    try {
      text += deltaOf(data);
    } catch (error) {
      return { text, done: false, failure: error as UpstreamError };
    }
  }
  return { text, done: false };
}

async function drain(reads: AsyncIterator<unknown>): Promise<void> {
  try {
    while (!(await reads.next()).done) {}
  } catch {
    // The answer was whole at [DONE]; whatever happens after it is no one's concern.
  }
}

/** The first choice's text in one event's data ('' when it carries none). */
function deltaOf(data: string): string {
  const chunk = parseJson(data);
  if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) throw wrongShape();
  const { choices, error } = chunk as { choices?: unknown; error?: unknown };
  if (error !== undefined && error !== null) throw reportedError(error);
  if (choices === undefined) return '';
  if (!Array.isArray(choices)) throw wrongShape();
  let text = '';
  for (const choice of choices) text += contentOf(choice) ?? '';
  return text;
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
