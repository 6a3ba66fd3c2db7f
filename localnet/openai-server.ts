import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { type AnswerWire, createFaultStage, type MinerBehaviour, writeStaged } from './behaviour.ts';
import { lastUserContent, minerAnswer } from './chat-synapse.ts';
import { textEmbedding } from './embedding-vectors.ts';
import { jsonOf, type MinerHandler } from './miner-server.ts';
import { chunkEvent, completionJson, DONE_EVENT, errorJson, openAiAnswer } from './openai-answer.ts';
import { promptImage } from './png.ts';
import { spacedJson } from './synapse-answers.ts';

/** A request turned away before it is served: the status, and the body saying why. */
export interface Refusal {
  status: number;
  body: string;
}

export interface OpenAiServerOptions {
  netuid: number;
  uid: number;
  /** The only `model` it serves. */
  model: string;
  /** Its embeddings' length when the request names none (256 by default). */
  dimensions?: number;
  /** Seeds its fault stage; by default derived from netuid and uid, so every miner draws its own faults. */
  seed?: number;
  /** Who may call (a signature, a key): undefined lets the request through. */
  authorize(request: IncomingMessage, body: Buffer, behaviour: MinerBehaviour): Refusal | undefined;
  /** Its own 500 (SN1's miners answer FastAPI's `{"detail"}`). */
  failure: AnswerWire['failure'];
}

const chatRequest = z.object({
  model: z.string(),
  messages: z.array(z.unknown()),
  stream: z.boolean().optional(),
});
const embeddingsRequest = z.object({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  dimensions: z.int().min(1).max(65_536).optional(),
});
const imagesRequest = z.object({
  model: z.string(),
  prompt: z.string().min(1),
  n: z.int().min(1).max(10).optional(),
  size: z
    .string()
    .regex(/^\d{1,4}x\d{1,4}$/)
    .optional(),
  response_format: z.literal('b64_json'),
});

/** An answer ready to be written: its text, and how it goes on the wire (so faults can be staged in it). */
type Answer = { text: string; wire: AnswerWire };

/**
 * An OpenAI-compatible server's routes, as localnet miners and upstreams serve them: chat completions
 * (streamed or whole), embeddings and image generations, each answered deterministically from its input,
 * after the behaviour's staged fault. What sets servers apart (Epistula signatures, bearer keys) is `authorize`.
 */
export function createOpenAiHandler(options: OpenAiServerOptions): MinerHandler {
  const stageFault = createFaultStage(options.seed ?? options.netuid * 1000 + options.uid);
  const defaultDimensions = options.dimensions ?? 256;

  return async (request, body, response, behaviour) => {
    const path = request.method === 'POST' ? request.url : undefined;
    if (path !== '/v1/chat/completions' && path !== '/v1/embeddings' && path !== '/v1/images/generations') {
      return sendJson(response, 404, JSON.stringify({ detail: 'Not Found' }));
    }
    const refusal = options.authorize(request, body, behaviour);
    if (refusal) return sendJson(response, refusal.status, refusal.body);
    const json = jsonOf(body);
    const answer = answerOf(path, json);
    if (!answer) {
      return sendJson(response, 400, errorJson(`not a valid request for ${path}`, 'invalid_request'));
    }
    const model = (json as { model: string }).model;
    if (model !== options.model) {
      return sendJson(response, 404, errorJson(`The model ${model} does not exist`, 'model_not_found'));
    }
    const outcome = await stageFault(behaviour);
    await writeStaged(outcome, response, answer.wire, answer.text, behaviour);
  };

  function answerOf(path: string, json: unknown): Answer | undefined {
    if (path === '/v1/chat/completions') {
      const chat = chatRequest.safeParse(json);
      const prompt = chat.success ? lastUserContent(chat.data.messages) : undefined;
      if (!chat.success || prompt === undefined) return undefined;
      const text = minerAnswer(options.netuid, options.uid, prompt);
      return { text, wire: chat.data.stream === true ? streamWire() : wholeWire() };
    }
    if (path === '/v1/embeddings') {
      const parsed = embeddingsRequest.safeParse(json);
      if (!parsed.success) return undefined;
      const { input, dimensions = defaultDimensions } = parsed.data;
      const data = (typeof input === 'string' ? [input] : input).map((text, index) => ({
        object: 'embedding',
        index,
        embedding: textEmbedding(text, dimensions),
      }));
      const tokens = Math.ceil(JSON.stringify(input).length / 4);
      const usage = { prompt_tokens: tokens, total_tokens: tokens };
      return jsonAnswer(data, { object: 'list', model: options.model, usage });
    }
    const parsed = imagesRequest.safeParse(json);
    if (!parsed.success) return undefined;
    const [width, height] = (parsed.data.size ?? '256x256').split('x').map(Number) as [number, number];
    const { prompt, n = 1 } = parsed.data;
    const data = Array.from({ length: n }, (_, index) => ({
      b64_json: promptImage(prompt, Math.min(width, 1024), Math.min(height, 1024), index).toString('base64'),
    }));
    return jsonAnswer(data, { created: Math.floor(Date.now() / 1000) });
  }

  function streamWire(): AnswerWire {
    const answer = openAiAnswer(options.model);
    return {
      streaming: true,
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
      impostorHeaders: undefined,
      open: chunkEvent(answer, { role: 'assistant', content: '' }),
      piece: (word) => chunkEvent(answer, { content: word }),
      close: chunkEvent(answer, {}, 'stop') + DONE_EVENT,
      failure: options.failure,
    };
  }

  function wholeWire(): AnswerWire {
    // A placeholder marks where the content goes, so the answer can be written (or cut) inside its string.
    const [open, close] = completionJson(openAiAnswer(options.model), '\u0000').split('"\\u0000"') as [
      string,
      string,
    ];
    return {
      ...jsonWire(),
      open: `${open}"`,
      piece: (word) => JSON.stringify(word).slice(1, -1),
      close: `"${close}`,
    };
  }

  /** A whole JSON answer whose `data` is the part written (or cut) word by word. */
  function jsonAnswer(data: unknown, rest: Record<string, unknown>): Answer {
    const [open, close] = JSON.stringify({ ...rest, data: null }).split('null') as [string, string];
    return { text: spacedJson(data), wire: { ...jsonWire(), open, close } };
  }

  function jsonWire(): AnswerWire {
    return {
      streaming: false,
      headers: { 'content-type': 'application/json' },
      // Nothing in an OpenAI answer says who sent it: no impostor can be staged.
      impostorHeaders: undefined,
      open: '',
      piece: (word) => word,
      close: '',
      failure: options.failure,
    };
  }
}

export function sendJson(response: ServerResponse, status: number, json: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(json);
}
