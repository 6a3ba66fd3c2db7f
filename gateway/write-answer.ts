import type { Context } from 'hono';
import { meteredUsage, meterFailure } from '../billing/index.ts';
import { type WholeText, wholeTextOf } from '../cache/index.ts';
import { noteUsage } from '../telemetry/index.ts';
import { httpError } from './errors.ts';
import { eventStream } from './event-stream.ts';
import { completeJson, type ResponseShape, usageOf, usageOfLength } from './response-shapes.ts';

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
    const whole = wholeTextOf(text);
    return whole ? answerWhole(c, whole, options) : readThenAnswer(c, text, options);
  }
  const { shape, model, promptText } = options;
  const id = shape.newId();
  return eventStream(c, async (events) => {
    const created = Math.floor(Date.now() / 1000);
    const send = (data: unknown) => events.send(JSON.stringify(data));
    let content = '';
    const opening = shape.opening(id, model, created);
    if (opening !== undefined) await send(opening);
    try {
      for await (const chunk of text) {
        // A client that went away pays for what was produced up to then (see README, Payments).
        if (events.aborted) return void meteredUsage(model, usageOf(promptText, content));
        content += chunk;
        await send(shape.delta(id, model, created, chunk));
      }
    } catch (error) {
      if (events.aborted) return void meteredUsage(model, usageOf(promptText, content));
      meterFailure();
      // Headers are gone: OpenAI reports a mid-stream failure as an error event.
      const message = `The miner failed mid-stream: ${(error as Error).message}`;
      await send(httpError(502, message, 'upstream_error', 'upstream_failed').body);
      return;
    }
    await send(shape.closing(id, model, created));
    const usage = meteredUsage(model, usageOf(promptText, content));
    noteUsage(usage);
    if (options.includeUsage) await send(shape.usage(id, model, created, usage));
    await events.send('[DONE]');
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
  return answerWhole(c, { textJson: JSON.stringify(content), textLength: content.length }, options);
}

/**
 * A cached answer is a new response carrying a kept completion: like a replayed stream, it has an id and a
 * created time of its own (clients key logs and retries on ids), and the completion's text and model.
 */
function answerWhole(c: Context, text: WholeText, options: AnswerOptions): Response {
  return c.body(wholeAnswerJson(text, options), 200, { 'content-type': 'application/json' });
}

/** The JSON body of a complete answer, its usage metered and noted on the request's telemetry. */
export function wholeAnswerJson(
  text: WholeText,
  { shape, model, promptText }: Pick<AnswerOptions, 'shape' | 'model' | 'promptText'>,
): string {
  const usage = meteredUsage(model, usageOfLength(promptText, text.textLength));
  noteUsage(usage);
  return completeJson(shape, shape.newId(), model, text.textJson, usage);
}
