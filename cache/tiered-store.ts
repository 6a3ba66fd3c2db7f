import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** An answer as the cache keeps it: what the caller needs to describe it, and its text as it streamed. */
export interface CachedAnswer<Meta = unknown> {
  meta: Meta;
  chunks: string[];
}

/**
 * An answer as this process keeps it: its text once, already a JSON string literal, which a whole JSON
 * answer splices in as it is (a hit escapes nothing), and the text's length, which its usage counts.
 */
export interface MemoryAnswer<Meta = unknown> {
  meta: Meta;
  textJson: string;
  textLength: number;
}

interface MemoryEntry {
  answer: MemoryAnswer;
  bytes: number;
}

interface StoredAnswer extends CachedAnswer {
  /** Wall-clock expiry, so a replica filling its memory from Redis keeps the entry no longer than the writer meant. */
  expiresAt: number;
}

export interface TieredStoreOptions {
  /** Bound on the in-process tier: entries are evicted least recently used first past it. */
  maxBytes: number;
  /** The shared tier; undefined keeps answers in this process only. */
  redis: Redis | undefined;
  /** Prepended to every Redis key (one namespace per deployment, or per test run). */
  prefix: string;
  /** Redis failed or was too slow: the store carried on with memory alone. */
  onRedisError: (operation: string, error: unknown) => void;
}

/** A single answer may take at most this share of memory, so one huge answer cannot flush everything else. */
const MAX_ENTRY_SHARE = 8;

/**
 * Two tiers: a byte-bounded LRU in process (answers in microseconds) over Redis shared by every replica.
 * Redis failures are reported and treated as misses: the gateway never waits on Redis beyond its
 * command timeout, and never fails a request because of it.
 */
export function createTieredStore(options: TieredStoreOptions) {
  const counts = { evictions: 0, expirations: 0 };
  // lru-cache needs a positive bound: with 0 bytes allowed, a 1-byte cache keeps nothing, as asked.
  const maxSize = Math.max(1, options.maxBytes);
  const memory = new LRUCache<string, MemoryEntry>({
    maxSize,
    maxEntrySize: Math.max(1, Math.floor(maxSize / MAX_ENTRY_SHARE)),
    sizeCalculation: (entry) => entry.bytes,
    dispose: (_entry, _key, reason) => {
      if (reason === 'evict') counts.evictions++;
      else if (reason === 'expire') counts.expirations++;
    },
  });
  const { redis, prefix } = options;

  function remember(key: string, { meta, chunks }: CachedAnswer, bytes: number, ttlMs: number): void {
    if (ttlMs <= 0) return;
    const text = chunks.join('');
    const answer = { meta, textJson: JSON.stringify(text), textLength: text.length };
    memory.set(key, { answer, bytes }, { ttl: ttlMs });
  }

  return {
    fromMemory(key: string): MemoryAnswer | undefined {
      return memory.get(key)?.answer;
    },

    /** The shared tier's copy, also kept in memory from now on; undefined on a miss or when Redis fails. */
    async fromRedis(key: string): Promise<CachedAnswer | undefined> {
      if (!redis) return undefined;
      let raw: string | null;
      try {
        raw = await redis.get(prefix + key);
      } catch (error) {
        options.onRedisError('get', error);
        return undefined;
      }
      if (raw === null) return undefined;
      const stored = parseStored(raw);
      if (!stored) return undefined;
      const answer = { meta: stored.meta, chunks: stored.chunks };
      remember(key, answer, Buffer.byteLength(raw), stored.expiresAt - Date.now());
      return answer;
    },

    /** Keeps the answer in memory at once and in Redis before resolving (so a publish after it finds it there). */
    async store(key: string, answer: CachedAnswer, ttlMs: number): Promise<void> {
      const serialised = JSON.stringify({ ...answer, expiresAt: Date.now() + ttlMs } satisfies StoredAnswer);
      remember(key, answer, Buffer.byteLength(serialised), ttlMs);
      if (!redis) return;
      try {
        await redis.set(prefix + key, serialised, 'PX', ttlMs);
      } catch (error) {
        options.onRedisError('set', error);
      }
    },

    stats() {
      return {
        entries: memory.size,
        bytes: memory.calculatedSize,
        maxBytes: options.maxBytes,
        evictions: counts.evictions,
        expirations: counts.expirations,
      };
    },

    clearMemory(): void {
      memory.clear();
    },
  };
}

export type TieredStore = ReturnType<typeof createTieredStore>;

/** Redis is shared and may hold anything under our prefix: only a well-formed entry counts as a hit. */
function parseStored(raw: string): StoredAnswer | undefined {
  try {
    const value = JSON.parse(raw) as Partial<StoredAnswer>;
    if (!Array.isArray(value.chunks) || typeof value.expiresAt !== 'number') return undefined;
    if (!value.chunks.every((chunk) => typeof chunk === 'string')) return undefined;
    return value as StoredAnswer;
  } catch {
    return undefined;
  }
}
