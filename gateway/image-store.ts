import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { GeneratedImage, ImageFormat } from '../adapters/index.ts';
import { closeRedis, connectRedis } from '../cache/index.ts';

export interface ImageStoreSettings {
  /** How long a generated image stays fetchable by its URL (OpenAI's expire after an hour). */
  ttlMs: number;
  /** Bytes of images held in this process at most; the least recently used go first past it. */
  maxBytes: number;
}

/** Where replicas share their images, so a URL works whichever replica it reaches. */
export interface SharedImages {
  redis: Redis;
  /** Key prefix, e.g. `taogate:images:`. */
  prefix: string;
  /** Told when Redis fails; the image is then served from this process only. */
  onError?: (error: unknown) => void;
}

export interface StoredImage extends GeneratedImage {
  /** When the URL stops working, ms since the epoch. */
  expiresAt: number;
}

const FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp'];

/**
 * Generated images kept for `response_format: "url"`, served by the gateway itself. Ids are 128 random
 * bits: the URL is the only key to the image. Bounded by bytes and by age in process; with Redis, also kept
 * there (one format byte, then the image) for as long, so every replica can serve every URL.
 */
export function createImageStore(settings: ImageStoreSettings, shared?: SharedImages) {
  const images = new LRUCache<string, StoredImage>({
    maxSize: settings.maxBytes,
    sizeCalculation: (image) => Math.max(1, image.bytes.length),
    ttl: settings.ttlMs,
  });

  async function fromRedis(id: string): Promise<StoredImage | undefined> {
    if (!shared) return undefined;
    try {
      const key = shared.prefix + id;
      const [[, value], [, ttl]] = (await shared.redis.multi().getBuffer(key).pttl(key).exec()) as [
        [unknown, Buffer | null],
        [unknown, number],
      ];
      const format = value ? FORMATS[value[0]!] : undefined;
      if (!value || !format || ttl <= 0) return undefined;
      return { bytes: value.subarray(1), format, expiresAt: Date.now() + ttl };
    } catch (error) {
      shared.onError?.(error);
      return undefined;
    }
  }

  return {
    /** Keeps an image; its id, or undefined when it is larger than the whole store. */
    async put(image: GeneratedImage): Promise<{ id: string; expiresAt: number } | undefined> {
      if (image.bytes.length > settings.maxBytes) return undefined;
      const id = `img-${randomBytes(16).toString('hex')}`;
      const expiresAt = Date.now() + settings.ttlMs;
      images.set(id, { ...image, expiresAt });
      if (shared) {
        const value = Buffer.concat([Buffer.from([FORMATS.indexOf(image.format)]), image.bytes]);
        await shared.redis.set(shared.prefix + id, value, 'PX', settings.ttlMs).catch(shared.onError);
      }
      return { id, expiresAt };
    },
    async get(id: string): Promise<StoredImage | undefined> {
      return images.get(id) ?? (await fromRedis(id));
    },
  };
}

export type ImageStore = ReturnType<typeof createImageStore>;

export const IMAGE_CONTENT_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;

/** The gateway's image store: shared through Redis when the gateway has one (`TAOGATE_REDIS_URL`). */
export function startImageStore(settings: ImageStoreSettings, redisUrl: string | undefined, logger: Logger) {
  const onError = (error: unknown) =>
    logger.debug({ err: error }, 'redis image store failed; the image is served by this replica only');
  // An image is megabytes, not a cache entry's kilobytes: its commands get longer than the cache's.
  const redis = redisUrl
    ? connectRedis(redisUrl, { name: 'taogate-images', commandTimeoutMs: 2000, onError })
    : undefined;
  const store = createImageStore(settings, redis && { redis, prefix: 'taogate:images:', onError });
  return { store, close: async () => (redis ? closeRedis(redis) : undefined) };
}
