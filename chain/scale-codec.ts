/**
 * Decoders for the few SCALE shapes the metagraph is made of. The reader checks each storage item's shape in
 * the runtime metadata first (`storage-layout.ts`), so these only run on bytes the metadata says have this
 * shape; they still refuse anything short, long or out of range, because the node is not trusted.
 * By hand because a metagraph is ~50 000 values: building a polkadot-js codec for each made a full read several
 * times slower (see `load-tests/chain-read.ts`).
 */

export interface ChainAxonInfo {
  block: bigint;
  version: number;
  ip: bigint;
  port: number;
  ipType: number;
  protocol: number;
}

interface Cursor {
  bytes: Uint8Array;
  view: DataView;
  offset: number;
}

/** A decoder returns undefined when the bytes are not exactly one value of its shape. */
export type Decoder<T> = (bytes: Uint8Array) => T | undefined;

class Malformed extends Error {}

function cursor(bytes: Uint8Array): Cursor {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
}

function take(at: Cursor, length: number): number {
  const start = at.offset;
  if (start + length > at.bytes.length) throw new Malformed();
  at.offset += length;
  return start;
}

const readU8 = (at: Cursor): number => at.view.getUint8(take(at, 1));
const readU16 = (at: Cursor): number => at.view.getUint16(take(at, 2), true);
const readU32 = (at: Cursor): number => at.view.getUint32(take(at, 4), true);
const readU64 = (at: Cursor): bigint => at.view.getBigUint64(take(at, 8), true);
const readU128 = (at: Cursor): bigint => {
  const low = readU64(at);
  return (readU64(at) << 64n) | low;
};

function readBool(at: Cursor): boolean {
  const byte = readU8(at);
  if (byte > 1) throw new Malformed();
  return byte === 1;
}

/** SCALE compact length prefix (the four modes of `parity-scale-codec`'s `Compact<u32>`). */
function readCompactLength(at: Cursor): number {
  const first = readU8(at);
  const mode = first & 0b11;
  if (mode === 0) return first >>> 2;
  if (mode === 1) return ((first | (readU8(at) << 8)) >>> 2) & 0x3fff;
  if (mode === 2) {
    at.offset--;
    return readU32(at) >>> 2;
  }
  const extraBytes = (first >>> 2) + 4;
  if (extraBytes > 6) throw new Malformed(); // beyond 2^48 elements: no real vector is that long
  let value = 0;
  for (let i = 0; i < extraBytes; i++) value += readU8(at) * 2 ** (8 * i);
  return value;
}

function readVec<T>(at: Cursor, elementSize: number, read: (at: Cursor) => T): T[] {
  const length = readCompactLength(at);
  if (length * elementSize > at.bytes.length - at.offset) throw new Malformed();
  const values = new Array<T>(length);
  for (let i = 0; i < length; i++) values[i] = read(at);
  return values;
}

function exactly<T>(read: (at: Cursor) => T): Decoder<T> {
  return (bytes) => {
    const at = cursor(bytes);
    try {
      const value = read(at);
      return at.offset === bytes.length ? value : undefined;
    } catch (error) {
      if (error instanceof Malformed || error instanceof RangeError) return undefined;
      throw error;
    }
  };
}

export const decodeBool = exactly(readBool);
export const decodeU16 = exactly(readU16);
export const decodeU64 = exactly(readU64);
export const decodeAccountId = exactly((at) => at.bytes.slice(take(at, 32), at.offset));
export const decodeU16Vec = exactly((at) => readVec(at, 2, readU16));
export const decodeBoolVec = exactly((at) => readVec(at, 1, readBool));
export const decodeU64Vec = exactly((at) => readVec(at, 8, readU64));

/** subtensor `AxonInfo` in field order: block u64, version u32, ip u128, port u16, ip_type, protocol, two u8 spares. */
export const decodeAxonInfo = exactly((at): ChainAxonInfo => {
  const axon = {
    block: readU64(at),
    version: readU32(at),
    ip: readU128(at),
    port: readU16(at),
    ipType: readU8(at),
    protocol: readU8(at),
  };
  take(at, 2);
  return axon;
});

/** A u16 storage-key argument, little-endian as SCALE encodes it. */
export function encodeU16(value: number): Uint8Array {
  const bytes = new Uint8Array(2);
  new DataView(bytes.buffer).setUint16(0, value, true);
  return bytes;
}
