import { DEV_PHRASE } from '@polkadot/keyring';
import { hexToU8a, isHex } from '@polkadot/util';
import {
  decodeAddress,
  encodeAddress,
  keyExtractSuri,
  keyFromPath,
  mnemonicToMiniSecret,
  sr25519PairFromSeed,
} from '@polkadot/util-crypto';
import { sr25519Sign, sr25519Verify, waitReady } from '@polkadot/wasm-crypto';

/** Bittensor addresses use the generic Substrate ss58 prefix. */
export const SS58_PREFIX = 42;

export interface Hotkey {
  readonly ss58: string;
  readonly publicKey: Uint8Array;
  /** sr25519 signature of a UTF-8 message, as `0x`-prefixed hex (how bittensor's Keypair.sign(...).hex() is sent). */
  sign(message: string): string;
}

const encoder = new TextEncoder();

// The wasm build of schnorrkel signs ~9x faster than util-crypto's pure-JS sr25519 (see shared/BITTENSOR.md),
// and every upstream request and every localnet verification pays one of these.
let wasmReady: Promise<boolean> | undefined;
export function cryptoReady(): Promise<boolean> {
  wasmReady ??= waitReady();
  return wasmReady;
}

/**
 * A hotkey from a secret URI: a mnemonic, a 0x-prefixed 32-byte seed, or either followed by a derivation
 * path (`//sn1/miner0`); a bare path derives from the Substrate dev phrase, for localnet only.
 */
export async function hotkeyFromSecret(secret: string): Promise<Hotkey> {
  await cryptoReady();
  const suri = secret.startsWith('//') ? `${DEV_PHRASE}${secret}` : secret;
  const { phrase, path, password } = keyExtractSuri(suri);
  const seed = isHex(phrase, 256) ? hexToU8a(phrase) : mnemonicToMiniSecret(phrase, password);
  const pair = keyFromPath(sr25519PairFromSeed(seed), path, 'sr25519');
  const publicKey = pair.publicKey;
  const secretKey = pair.secretKey;
  return {
    ss58: encodeAddress(publicKey, SS58_PREFIX),
    publicKey,
    sign: (message) => signatureHex(sr25519Sign(publicKey, secretKey, encoder.encode(message))),
  };
}

/** `0x` + hex of a signature: Buffer's encoder is several times faster than u8aToHex, and this runs per request. */
function signatureHex(signature: Uint8Array): string {
  return `0x${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('hex')}`;
}

/** Verifies a `0x`-hex sr25519 signature by an ss58 address. Any malformed input is simply "not verified". */
export function verifySignature(message: string, signatureHex: string, signerSs58: string): boolean {
  try {
    if (!isHex(signatureHex, 512)) return false;
    return sr25519Verify(hexToU8a(signatureHex), encoder.encode(message), decodeAddress(signerSs58));
  } catch {
    return false;
  }
}
