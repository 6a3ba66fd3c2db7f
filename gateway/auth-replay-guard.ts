import type { Redis } from 'ioredis';

/**
 * Remembers signed requests (by signer and Epistula uuid) for as long as their signature is fresh, so a
 * captured request cannot be sent again to be served, and charged, twice. Through Redis when there is one,
 * so a replay to another replica is caught too; a replica's own memory otherwise (and while Redis is down).
 */
export interface ReplayGuard {
  /** True the first time `id` is seen within `ttlMs`. */
  firstSeen(id: string, ttlMs: number): Promise<boolean>;
}

const MAX_REMEMBERED = 200_000;

export function createReplayGuard(redis?: Redis, prefix = 'taogate:epistula:'): ReplayGuard {
  const seen = new Map<string, number>();
  const firstSeenLocally = (id: string, ttlMs: number): boolean => {
    const now = Date.now();
    const until = seen.get(id);
    if (until !== undefined && until > now) return false;
    if (seen.size >= MAX_REMEMBERED) {
      for (const [key, expiry] of seen) if (expiry <= now) seen.delete(key);
    }
    seen.set(id, now + ttlMs);
    return true;
  };
  return {
    async firstSeen(id, ttlMs) {
      if (!firstSeenLocally(id, ttlMs)) return false;
      if (!redis) return true;
      try {
        return (await redis.set(`${prefix}${id}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
      } catch {
        return true;
      }
    },
  };
}
