import { createHash } from 'node:crypto';
import { seededRandom } from './behaviour.ts';

/**
 * What localnet's embedding miners answer: a unit vector seeded by a hash of the text, so the same text
 * always embeds the same way, different texts differently, and a caller can check it got its own vectors.
 * Shorter `dimensions` give a prefix of the full vector, renormalised, as Matryoshka models do.
 */
export function textEmbedding(text: string, dimensions: number): number[] {
  const seed = createHash('sha256').update(text).digest().readUInt32BE(0);
  const random = seededRandom(seed);
  const vector = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}
