import { z } from 'zod';
import { MAX_UPSTREAM_BYTES } from './body.ts';
import { UpstreamError } from './errors.ts';
import { decodeImage } from './image-data.ts';
import type { EmbeddingsAnswer, ImagesAnswer } from './types.ts';

// The answers of OpenAI-compatible servers that are not streams (API reference: "The chat completion
// object", "The embedding object", "The image generation response"). Only what we read is checked.

const chatCompletion = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullish() }) })).min(1),
});

const embeddingList = z.object({
  data: z.array(z.object({ index: z.int().min(0), embedding: z.array(z.number()) })),
  usage: z.object({ prompt_tokens: z.int().min(0) }).nullish(),
});

const imageList = z.object({ data: z.array(z.object({ b64_json: z.string() })).min(1) });

function invalid(what: string): UpstreamError {
  return new UpstreamError('upstream_invalid', `the answer is not ${what}`);
}

/** The text of a whole chat completion (first choice). */
export function completionText(json: unknown): string {
  const parsed = chatCompletion.safeParse(json);
  if (!parsed.success) throw invalid('a chat completion');
  return parsed.data.choices[0]!.message.content ?? '';
}

/** An embedding list's vectors, put back in input order (servers may answer out of order). */
export function embeddingVectors(json: unknown): EmbeddingsAnswer {
  const parsed = embeddingList.safeParse(json);
  if (!parsed.success) throw invalid('an embedding list');
  const vectors: number[][] = [];
  for (const item of parsed.data.data) {
    if (vectors[item.index] !== undefined) throw invalid('an embedding list: an index repeats');
    vectors[item.index] = item.embedding;
  }
  if (vectors.length !== parsed.data.data.length) throw invalid('an embedding list: an index is missing');
  const promptTokens = parsed.data.usage?.prompt_tokens;
  return promptTokens === undefined ? { vectors } : { vectors, promptTokens };
}

/**
 * The images of an image generation answer. Only `b64_json`: following a `url` an upstream chose would let
 * it point the gateway anywhere.
 */
export function generatedImages(json: unknown): ImagesAnswer {
  const parsed = imageList.safeParse(json);
  if (!parsed.success) throw invalid('a list of b64_json images');
  return { images: parsed.data.data.map((item) => decodeImage(item.b64_json)) };
}

/** The cap on an answer carrying `n` images: base64 makes 4 bytes of 3, and a few images are large. */
export function maxImagesAnswerBytes(n: number): number {
  return Math.min(64 * 1024 * 1024, MAX_UPSTREAM_BYTES * Math.max(1, n));
}
