/** Whether a request may use the cache, and how. */
export type CachePolicy =
  | { use: false }
  /** `read: false` asks for a fresh answer (it is still shared in flight and stored). */
  | { use: true; read: boolean };

export interface CachePolicyInput {
  /** `x-taogate-cache: on|off`: the client opts a request in or out. */
  header: string | undefined;
  /** The body's `taogate.cache` extension, the same choice for SDKs that send extra body fields. */
  optIn: boolean | null | undefined;
  cacheControl: string | undefined;
  /** The same request always earns the same answer (`temperature: 0`, embeddings). */
  deterministic: boolean;
}

export type PolicyResult = { ok: true; policy: CachePolicy } | { ok: false; message: string; param: string };

const SWITCH: Record<string, boolean> = {
  on: true,
  off: false,
  true: true,
  false: false,
  '1': true,
  '0': false,
};

/**
 * Deterministic requests are cached unless the client opts out; others only when it opts in, since
 * sampling at a temperature means a client expects a different answer each time. `Cache-Control: no-store`
 * keeps the cache out entirely; `no-cache` (or `max-age=0`) fetches afresh and stores the new answer.
 */
export function cachePolicyOf(input: CachePolicyInput): PolicyResult {
  let chosen: boolean | undefined;
  if (input.header !== undefined) {
    chosen = SWITCH[input.header.trim().toLowerCase()];
    if (chosen === undefined) {
      return { ok: false, message: 'x-taogate-cache must be on or off', param: 'x-taogate-cache' };
    }
  } else if (input.optIn != null) chosen = input.optIn;
  if (!(chosen ?? input.deterministic)) return { ok: true, policy: { use: false } };
  const directives = cacheControlDirectives(input.cacheControl);
  if (directives.has('no-store')) return { ok: true, policy: { use: false } };
  const fresh = directives.has('no-cache') || directives.has('max-age=0');
  return { ok: true, policy: { use: true, read: !fresh } };
}

function cacheControlDirectives(header: string | undefined): Set<string> {
  if (!header) return new Set();
  return new Set(header.split(',').map((directive) => directive.trim().toLowerCase().replace(/\s+/g, '')));
}

/** How a pipeline step asks for the cache: as a direct request would (`auto`), always, never, or afresh. */
export type StepCacheMode = 'auto' | 'on' | 'off' | 'refresh';

export function stepCachePolicy(mode: StepCacheMode, deterministic: boolean): CachePolicy {
  switch (mode) {
    case 'auto':
      return deterministic ? { use: true, read: true } : { use: false };
    case 'on':
      return { use: true, read: true };
    case 'off':
      return { use: false };
    case 'refresh':
      return { use: true, read: false };
  }
}
