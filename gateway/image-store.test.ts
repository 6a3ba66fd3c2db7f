import { describe, expect, it } from 'vitest';
import { createImageStore } from './image-store.ts';

const image = (bytes: number) => ({ bytes: Buffer.alloc(bytes, 1), format: 'png' as const });

describe('the image store', () => {
  it('serves an image by its id until it expires', async () => {
    const store = createImageStore({ ttlMs: 40, maxBytes: 1 << 20 });
    const stored = store.put(image(10))!;
    expect(stored.id).toMatch(/^img-[0-9a-f]{32}$/);
    expect(store.get(stored.id)?.bytes.length).toBe(10);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(store.get(stored.id)).toBeUndefined();
  });

  it('keeps within its byte budget by dropping the least recently used, and refuses what cannot fit', () => {
    const store = createImageStore({ ttlMs: 60_000, maxBytes: 100 });
    const first = store.put(image(40))!;
    const second = store.put(image(40))!;
    store.get(first.id);
    const third = store.put(image(40))!;
    expect(store.get(second.id)).toBeUndefined();
    expect(store.get(first.id)).toBeDefined();
    expect(store.get(third.id)).toBeDefined();
    expect(store.put(image(101))).toBeUndefined();
  });
});
