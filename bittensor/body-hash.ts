import { createHash } from 'node:crypto';
import { type JsonValue, pythonStr } from './python-str.ts';

/** bittensor.utils `hash()`: sha3-256 hex of the UTF-8 text. */
export function sha3Hex(text: string): string {
  return createHash('sha3-256').update(text, 'utf8').digest('hex');
}

/**
 * Synapse.body_hash (bittensor/core/synapse.py): the sha3-256 of the concatenated sha3-256 hex digests of
 * `str(field)` for each of the synapse class's `required_hash_fields`, in class order.
 */
export function synapseBodyHash(
  body: Readonly<Record<string, JsonValue>>,
  requiredHashFields: readonly string[],
): string {
  let digests = '';
  for (const field of requiredHashFields) digests += sha3Hex(pythonStr(body[field] ?? null));
  return sha3Hex(digests);
}
