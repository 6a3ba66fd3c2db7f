import { verifySignature } from './keys.ts';

/** bittensor/core/axon.py ALLOWED_DELTA: how old a first nonce may be, beyond the request timeout. */
export const ALLOWED_NONCE_DELTA_NS = 4_000_000_000n;
/** Dendrites older than 7.2.0 used a different nonce rule; we only speak to and accept current ones. */
const V_7_2_0 = 7_002_000;

export type Verified = { ok: true; dendriteHotkey: string } | { ok: false; message: string };

/**
 * The axon's `default_verify`: rebuild the signed message with the axon's *own* hotkey (so a request meant
 * for another miner fails), require a fresh, strictly increasing nonce per "{hotkey}:{uuid}", then check the
 * sr25519 signature. Only a verified nonce is remembered.
 */
export class NonceWindow {
  readonly #lastNonce = new Map<string, bigint>();
  readonly #maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  verify(headers: Readonly<Record<string, string | undefined>>, ownHotkey: string, nowNs: bigint): Verified {
    const hotkey = headers.bt_header_dendrite_hotkey;
    const uuid = headers.bt_header_dendrite_uuid;
    const signature = headers.bt_header_dendrite_signature;
    const bodyHash = headers.computed_body_hash;
    const nonceText = headers.bt_header_dendrite_nonce;
    if (!hotkey || !uuid || !signature || !bodyHash)
      return { ok: false, message: 'Missing dendrite headers' };
    if (!nonceText || !/^\d{1,30}$/.test(nonceText)) return { ok: false, message: 'Missing Nonce' };
    const version = Number(headers.bt_header_dendrite_version ?? 0);
    if (!(version >= V_7_2_0)) return { ok: false, message: 'Dendrite version too old' };

    const nonce = BigInt(nonceText);
    const timeoutNs = BigInt(Math.round(Number(headers.timeout ?? 0) * 1e9) || 0);
    const endpointKey = `${hotkey}:${uuid}`;
    const previous = this.#lastNonce.get(endpointKey);
    if (previous === undefined && nonce <= nowNs - ALLOWED_NONCE_DELTA_NS - timeoutNs) {
      return { ok: false, message: 'Nonce is too old, a newer one was last processed' };
    }
    if (previous !== undefined && nonce <= previous) {
      return { ok: false, message: 'Nonce is too old, a newer one was last processed' };
    }
    const message = `${nonceText}.${hotkey}.${ownHotkey}.${uuid}.${bodyHash}`;
    if (!verifySignature(message, signature, hotkey)) {
      return { ok: false, message: `Signature mismatch with ${message} and ${signature}` };
    }
    if (this.#lastNonce.size >= this.#maxEntries) this.#lastNonce.clear();
    this.#lastNonce.set(endpointKey, nonce);
    return { ok: true, dendriteHotkey: hotkey };
  }
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
