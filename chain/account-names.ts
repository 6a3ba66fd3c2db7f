import { Buffer } from 'node:buffer';
import { encodeAddress } from '@polkadot/util-crypto';

/** ss58 text for 32-byte account ids. */
export interface AccountNames {
  readonly ss58Format: number;
  ss58(publicKey: Uint8Array): string;
}

// Large enough for every hotkey and coldkey on finney; past it the cache starts over rather than growing.
const MAX_CACHED = 200_000;

/**
 * ss58 encoding (a blake2 checksum and a quadratic base58) is the largest cost of a metagraph read, and the same
 * keys come back every refresh, so each is encoded once.
 */
export function createAccountNames(ss58Format: number): AccountNames {
  const cache = new Map<string, string>();
  return {
    ss58Format,
    ss58(publicKey) {
      const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
      let name = cache.get(id);
      if (name === undefined) {
        if (cache.size >= MAX_CACHED) cache.clear();
        name = encodeAddress(publicKey, ss58Format);
        cache.set(id, name);
      }
      return name;
    },
  };
}
