import { hash } from 'node:crypto';

/**
 * A cache key for a request, from what decides its answer only: callers pass the normalised request
 * (model, messages or input, sampling parameters), never transport details such as `stream` or `user`.
 * Object keys are sorted and undefined values dropped, so two clients spelling the same request in a
 * different order share one entry.
 */
export function cacheKeyOf(kind: string, request: unknown): string {
  // One-shot hashing: a Hash object per request costs more than the digest itself on the cache-hit path.
  return hash('sha256', `${kind}\0${canonicalJson(request)}`, 'base64url');
}

/**
 * JSON with object keys in sorted order; undefined members are left out, as JSON.stringify does. Built by
 * appending to one string: it runs on every cacheable request, and per-level arrays and joins cost more.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let json = '[';
    for (let i = 0; i < value.length; i++) json += `${i > 0 ? ',' : ''}${canonicalJson(value[i] ?? null)}`;
    return `${json}]`;
  }
  let json = '{';
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    json += `${json.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${json}}`;
}
