import { Buffer } from 'node:buffer';
import { z } from 'zod';

/** The one thing the reader needs from a connection: a raw JSON-RPC call (WsProvider's `send`). */
export interface StorageRpc {
  send(method: string, params: unknown[]): Promise<unknown>;
}

export interface FetchOptions {
  /** Keys per `state_queryStorageAt`; nodes cap request and response sizes (15 MiB by default). */
  keysPerRequest?: number;
  /** Requests in flight at once. */
  concurrency?: number;
}

const hex = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/);
const changeSets = z.array(z.object({ block: hex, changes: z.array(z.tuple([hex, hex.nullable()])) }));
const keyPage = z.array(hex);

const KEYS_PAGE = 1000;

/**
 * Values of many storage keys at one block, through raw `state_queryStorageAt` pages. Raw, because polkadot-js
 * builds a StorageKey and a codec per value and memoises by stringified arguments, which costs more than the
 * network for a whole metagraph. The answer is checked before use: the node is not trusted.
 */
export async function queryStorageAt(
  rpc: StorageRpc,
  keys: readonly string[],
  at: string,
  options: FetchOptions = {},
): Promise<Map<string, Uint8Array | null>> {
  const perRequest = options.keysPerRequest ?? 1000;
  const pages: string[][] = [];
  for (let start = 0; start < keys.length; start += perRequest)
    pages.push(keys.slice(start, start + perRequest));
  const values = new Map<string, Uint8Array | null>();
  await forEachLimited(pages, options.concurrency ?? 4, async (page) => {
    const answer = changeSets.safeParse(await rpc.send('state_queryStorageAt', [page, at]));
    if (!answer.success) throw new Error(`state_queryStorageAt answer is malformed: ${answer.error.message}`);
    for (const { changes } of answer.data) {
      for (const [key, value] of changes)
        values.set(key.toLowerCase(), value === null ? null : fromHex(value));
    }
  });
  for (const key of keys) {
    if (!values.has(key)) throw new Error(`state_queryStorageAt did not answer for key ${key}`);
  }
  return values;
}

/** Every key under `prefix` at one block, through `state_getKeysPaged`. */
export async function keysWithPrefix(rpc: StorageRpc, prefix: string, at: string): Promise<string[]> {
  const keys: string[] = [];
  let startKey: string | null = null;
  for (;;) {
    const answer = keyPage.safeParse(await rpc.send('state_getKeysPaged', [prefix, KEYS_PAGE, startKey, at]));
    if (!answer.success) throw new Error(`state_getKeysPaged answer is malformed: ${answer.error.message}`);
    const page = answer.data.map((key) => key.toLowerCase());
    if (page.some((key) => !key.startsWith(prefix)))
      throw new Error('state_getKeysPaged answered keys outside the prefix');
    keys.push(...page);
    if (page.length < KEYS_PAGE) return keys;
    startKey = page[page.length - 1] ?? null;
  }
}

function fromHex(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value.slice(2), 'hex'));
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
