import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `tg_<id>_<secret>`: the id finds the stored record, the secret is checked against its
 * hash. Only the hash is stored; the whole key is shown once, when it is made.
 */
const KEY_PATTERN = /^tg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  id: string;
  /** The key as the app sends it; never stored, never logged. */
  secret: string;
  hash: string;
}

export function generateApiKey(): NewApiKey {
  const id = randomBytes(8).toString('hex');
  const secretPart = randomBytes(32).toString('base64url');
  return { id, secret: `tg_${id}_${secretPart}`, hash: hashSecret(secretPart) };
}

/** The key's id and the part to hash, or undefined when the text cannot be a taogate key. */
export function parseApiKey(text: string): { id: string; secretPart: string } | undefined {
  const match = KEY_PATTERN.exec(text);
  return match ? { id: match[1]!, secretPart: match[2]! } : undefined;
}

// A key carries 256 random bits, so one SHA-256 is as strong as a slow password hash would be here, and it
// costs microseconds on every request rather than milliseconds.
export function hashSecret(secretPart: string): string {
  return createHash('sha256').update(secretPart).digest('hex');
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(secretPart: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secretPart), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
