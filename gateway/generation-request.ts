import type { Context } from 'hono';
import { LRUCache } from 'lru-cache';
import type { z } from 'zod';
import type { ChatRequest } from '../adapters/index.ts';
import { bodyTextOf, type Parsed, parseJsonText } from './request-body.ts';

/** A text-generation request as the route uses it: its body validated, and the chat it asks for. */
export interface GenerationRequest<Body> {
  /** The body exactly as sent. */
  readonly text: string;
  readonly body: Body;
  readonly request: ChatRequest;
  /** The conversation's text, which usage is estimated from: joined once, not on every repeat's answer. */
  readonly promptText: string;
  /**
   * Its cache key, once the route computed it. A remembered request keeps it: the key follows from the body
   * alone (the model is the catalogue's entry for `body.model`, fixed for the gateway's life).
   */
  cacheKey: string | undefined;
}

/**
 * Requests the cache answers come back byte for byte, and identical bytes validate identically: a repeat of
 * a remembered body skips JSON.parse, the schema and the cache key's hashing (load-tests/cache.ts: over a
 * quarter of a cache hit's CPU). Bounded by bytes; a body too large to keep is simply read each time.
 */
const MEMO_MAX_BYTES = 4 * 1024 * 1024;
export const MEMO_MAX_BODY_CHARS = 32 * 1024;
/** The text (2 bytes a character at most) and its parsed copy, about as large again. */
const BYTES_PER_CHAR = 4;

export interface GenerationRequestReader<Body> {
  /** The request in the body: remembered, or read, validated and turned into a chat; else the 400 why. */
  read(c: Context): Promise<Parsed<GenerationRequest<Body>>>;
  /** Keeps a request for its body's next repeat; it is frozen, as later repeats share it. */
  remember(request: GenerationRequest<Body>): void;
  /** The request remembered for exactly this body, if any: one the cache may answer. */
  recall(text: string): GenerationRequest<Body> | undefined;
}

export function generationRequestReader<Body>(
  schema: z.ZodType<Body>,
  toChatRequest: (body: Body) => ChatRequest,
): GenerationRequestReader<Body> {
  const memo = new LRUCache<string, GenerationRequest<Body>>({
    maxSize: MEMO_MAX_BYTES,
    maxEntrySize: MEMO_MAX_BODY_CHARS * BYTES_PER_CHAR,
    sizeCalculation: (_request, text) => text.length * BYTES_PER_CHAR,
  });
  return {
    async read(c) {
      const text = await bodyTextOf(c);
      const remembered = memo.get(text);
      if (remembered) return { ok: true, value: remembered };
      const parsed = parseJsonText(text, schema);
      if (!parsed.ok) return parsed;
      const body = parsed.value;
      const request = toChatRequest(body);
      const promptText = request.messages.map((message) => message.content).join('\n');
      return { ok: true, value: { text, body, request, promptText, cacheKey: undefined } };
    },
    remember(request) {
      if (memo.has(request.text) || request.text.length > MEMO_MAX_BODY_CHARS) return;
      deepFreeze(request.body);
      deepFreeze(request.request);
      memo.set(request.text, request);
    },
    recall: (text) => memo.get(text),
  };
}

/** A shared request must stay as validated: a handler that changed it would change every later repeat. */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
}
