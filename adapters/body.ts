import type { Dispatcher } from 'undici';
import { UpstreamError } from './errors.ts';

/** Upstream answers are untrusted: a miner that sends more than this is cut off. */
export const MAX_UPSTREAM_BYTES = 8 * 1024 * 1024;

/** Reads a whole response body as text, refusing to buffer past the cap. */
export async function readCappedText(
  body: Dispatcher.ResponseData['body'],
  maxBytes = MAX_UPSTREAM_BYTES,
): Promise<string> {
  let text = '';
  for await (const chunk of streamCappedText(body, maxBytes)) text += chunk;
  return text;
}

/** Decodes a response body as UTF-8 text chunks, split safely across multi-byte characters, with a cap. */
export async function* streamCappedText(
  body: Dispatcher.ResponseData['body'],
  maxBytes = MAX_UPSTREAM_BYTES,
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new UpstreamError('upstream_invalid', 'the miner sent an oversized answer');
      const text = decoder.decode(chunk, { stream: true });
      if (text) yield text;
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  } catch (error) {
    if (error instanceof TypeError)
      throw new UpstreamError('upstream_invalid', 'the miner sent invalid UTF-8');
    throw error;
  } finally {
    body.destroy();
  }
}

/** Parses JSON, or undefined when the text is not JSON (for bodies read only for what they may tell). */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Drops an answer unread, closing its connection rather than draining it (it may be huge or endless). The
 * abort error the body then emits has no reader: it is expected, not a failure to report.
 */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}
