import type { Dispatcher } from 'undici';
import { UpstreamError } from './errors.ts';

/** Upstream answers are untrusted: a miner that sends more than this is cut off. */
export const MAX_UPSTREAM_BYTES = 8 * 1024 * 1024;

/** Whole bodies are decoded in one call, so one strict decoder serves them all (no `stream` state kept). */
const wholeUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a whole response body as text, refusing to buffer past the cap. Through the stream's events and one
 * decode at the end rather than `for await` and a decoder per body: the async iterator (and the end-of-stream
 * watcher behind it) and a TextDecoder were most of what a whole JSON answer allocated here.
 */
export function readCappedText(
  body: Dispatcher.ResponseData['body'],
  maxBytes = MAX_UPSTREAM_BYTES,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: unknown) => {
      body.destroy();
      reject(error);
    };
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) fail(oversized());
      else chunks.push(chunk);
    });
    body.once('error', fail);
    body.once('end', () => {
      body.destroy();
      try {
        resolve(wholeUtf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
      } catch {
        reject(invalidUtf8());
      }
    });
  });
}

/** Decodes a response body as UTF-8 text chunks, split safely across multi-byte characters, with a cap. */
export async function* streamCappedText(
  body: Dispatcher.ResponseData['body'],
  maxBytes = MAX_UPSTREAM_BYTES,
): AsyncGenerator<string> {
  const decoder = cappedDecoder(maxBytes);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const text = decoder.decode(chunk);
      if (text) yield text;
    }
    const tail = decoder.end();
    if (tail) yield tail;
  } finally {
    body.destroy();
  }
}

export interface CappedDecoder {
  /** The text of one more chunk (a character split across chunks comes out with the chunk that ends it). */
  decode(chunk: Uint8Array): string;
  /** What is left once the body has ended: a character cut off there is invalid UTF-8. */
  end(): string;
}

/**
 * Strict UTF-8 decoding of a body read chunk by chunk, by whoever reads it (no generator layer of its own
 * on the streaming hot path): more than `maxBytes` in all, or invalid UTF-8, is `upstream_invalid`.
 */
export function cappedDecoder(maxBytes = MAX_UPSTREAM_BYTES): CappedDecoder {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let size = 0;
  return {
    decode(chunk) {
      size += chunk.length;
      if (size > maxBytes) throw oversized();
      try {
        return decoder.decode(chunk, { stream: true });
      } catch {
        throw invalidUtf8();
      }
    },
    end() {
      try {
        return decoder.decode();
      } catch {
        throw invalidUtf8();
      }
    },
  };
}

function oversized(): UpstreamError {
  return new UpstreamError('upstream_invalid', 'the miner sent an oversized answer');
}

function invalidUtf8(): UpstreamError {
  return new UpstreamError('upstream_invalid', 'the miner sent invalid UTF-8');
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
