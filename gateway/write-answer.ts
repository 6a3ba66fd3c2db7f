import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { meteredUsage, meterFailure } from '../billing/index.ts';
import { completeTextOf } from '../cache/index.ts';
import { noteUsage } from '../telemetry/index.ts';
import { httpError } from './errors.ts';
import { type ResponseShape, usageOf } from './response-shapes.ts';

export interface AnswerOptions {
  shape: ResponseShape;
  /** The model that answered, named in the body. */
  model: string;
  promptText: string;
  stream: boolean;
  includeUsage: boolean;
}

/** Writes a routed answer as OpenAI JSON, or as SSE chunks ending in `[DONE]`. */
export function writeAnswer(
  c: Context,
  text: AsyncIterable<string>,
  options: AnswerOptions,
): Response | Promise<Response> {
  if (!options.stream) {
    const complete = completeTextOf(text);
    return complete === undefined ? readThenAnswer(c, text, options) : answerWhole(c, complete, options);
  }
  const { shape, model, promptText } = options;
  const id = shape.newId();
  return streamSSE(c, async (sse) => {
    const created = Math.floor(Date.now() / 1000);
    const events = batchedEvents(sse);
    const send = (data: unknown) => events.send(JSON.stringify(data));
    let content = '';
    const opening = shape.opening(id, model, created);
    if (opening !== undefined) await send(opening);
    try {
      for await (const chunk of text) {
        // A client that went away pays for what was produced up to then (see README, Payments).
        if (sse.aborted) return void meteredUsage(model, usageOf(promptText, content));
        content += chunk;
        await send(shape.delta(id, model, created, chunk));
      }
    } catch (error) {
      if (sse.aborted) return void meteredUsage(model, usageOf(promptText, content));
      meterFailure();
      // Headers are gone: OpenAI reports a mid-stream failure as an error event.
      const message = `The miner failed mid-stream: ${(error as Error).message}`;
      await send(httpError(502, message, 'upstream_error', 'upstream_failed').body);
      return events.flushed();
    }
    await send(shape.closing(id, model, created));
    const usage = meteredUsage(model, usageOf(promptText, content));
    noteUsage(usage);
    if (options.includeUsage) await send(shape.usage(id, model, created, usage));
    await events.send('[DONE]');
    await events.flushed();
  });
}

async function readThenAnswer(c: Context, text: AsyncIterable<string>, options: AnswerOptions) {
  let content = '';
  try {
    for await (const chunk of text) content += chunk;
  } catch (error) {
    const failed = httpError(
      502,
      `The miner failed mid-answer: ${(error as Error).message}`,
      'upstream_error',
      'upstream_failed',
    );
    return c.json(failed.body, failed.status);
  }
  return answerWhole(c, content, options);
}

function answerWhole(c: Context, content: string, { shape, model, promptText }: AnswerOptions): Response {
  const usage = meteredUsage(model, usageOf(promptText, content));
  noteUsage(usage);
  return c.json(shape.complete(shape.newId(), model, content, usage));
}

/** Past this many characters waiting, the writer waits for the client before taking more. */
const FLUSH_AT_CHARS = 64 * 1024;

/**
 * SSE events written once per turn of the event loop rather than one socket write each: an upstream read
 * usually carries several tokens, and a write per event was a third of the gateway's CPU on streams
 * (load-tests/bench.ts). Batches hold whole events, as the drain middleware expects.
 */
function batchedEvents(sse: SSEStreamingApi) {
  let pending = '';
  let written: Promise<void> | undefined;
  const flush = async () => {
    written = undefined;
    const text = pending;
    pending = '';
    await sse.write(text);
  };
  return {
    /** Queues one event; `data` is one line (JSON.stringify never writes a raw line break). */
    async send(data: string): Promise<void> {
      pending += `data: ${data}\n\n`;
      written ??= new Promise<void>((resolve) => setImmediate(resolve)).then(flush);
      if (pending.length >= FLUSH_AT_CHARS) await written;
    },
    /** Resolves once every queued event is handed to the response. */
    flushed: (): Promise<void> => written ?? Promise.resolve(),
  };
}
