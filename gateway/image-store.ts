import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { GeneratedImage } from '../adapters/index.ts';

export interface ImageStoreSettings {
  /** How long a generated image stays fetchable by its URL (OpenAI's expire after an hour). */
  ttlMs: number;
  /** Bytes of images held at most; the least recently used go first past it. */
  maxBytes: number;
}

export interface StoredImage extends GeneratedImage {
  /** When the URL stops working, ms since the epoch. */
  expiresAt: number;
}

/**
 * Generated images kept in process for `response_format: "url"`, served by the gateway itself. Ids are 128
 * random bits: the URL is the only key to the image. Bounded by bytes and by age; nothing on disk.
 */
export function createImageStore(settings: ImageStoreSettings) {
  const images = new LRUCache<string, StoredImage>({
    maxSize: settings.maxBytes,
    sizeCalculation: (image) => Math.max(1, image.bytes.length),
    ttl: settings.ttlMs,
  });

  return {
    /** Keeps an image; its id, or undefined when it is larger than the whole store. */
    put(image: GeneratedImage): { id: string; expiresAt: number } | undefined {
      if (image.bytes.length > settings.maxBytes) return undefined;
      const id = `img-${randomBytes(16).toString('hex')}`;
      const expiresAt = Date.now() + settings.ttlMs;
      images.set(id, { ...image, expiresAt });
      return { id, expiresAt };
    },
    get(id: string): StoredImage | undefined {
      return images.get(id);
    },
  };
}

export type ImageStore = ReturnType<typeof createImageStore>;

export const IMAGE_CONTENT_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;
