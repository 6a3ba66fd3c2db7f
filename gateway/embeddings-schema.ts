import { z } from 'zod';

/** OpenAI's limit on inputs per embeddings request. */
const MAX_INPUTS = 2048;

const text = z.string().min(1, 'an input must not be empty');
const tokens = z.array(z.int().min(0)).min(1);

/**
 * OpenAI's embeddings request. Subnets embed text, so token arrays (which need the model's own tokenizer to
 * read back) are refused with a clear message rather than guessed at.
 */
export const embeddingsRequest = z.object({
  model: z.string().min(1),
  input: z
    .union([text, z.array(text).min(1).max(MAX_INPUTS), tokens, z.array(tokens).min(1)])
    .refine((input) => typeof input === 'string' || input.every((item) => typeof item === 'string'), {
      error: 'token arrays are not supported: subnets embed text, send the text itself',
    })
    .transform((input) => (typeof input === 'string' ? [input] : (input as string[]))),
  encoding_format: z.enum(['float', 'base64']).default('float'),
  dimensions: z.int().min(1).max(65_536).optional(),
  user: z.string().optional(),
});

export type EmbeddingsBody = z.infer<typeof embeddingsRequest>;

/** A vector as OpenAI's `base64` encoding has it: little-endian float32s. */
export function base64Vector(vector: readonly number[]): string {
  const floats = new Float32Array(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
