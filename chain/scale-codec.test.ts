import { describe, expect, it } from 'vitest';
import { loadChainRuntime } from '../localnet/chain/index.ts';
import {
  decodeAccountId,
  decodeAxonInfo,
  decodeBool,
  decodeU16,
  decodeU16Vec,
  decodeU64,
  decodeU64Vec,
} from './scale-codec.ts';

describe('SCALE decoders for metagraph values', () => {
  const { registry } = loadChainRuntime();
  const encode = (type: string, value: unknown): Uint8Array => registry.createType(type, value).toU8a();

  it('decode what polkadot-js encodes', () => {
    expect(decodeU16(encode('u16', 65535))).toBe(65535);
    expect(decodeU64(encode('u64', 2n ** 63n + 5n))).toBe(2n ** 63n + 5n);
    expect(decodeBool(encode('bool', true))).toBe(true);
    expect(decodeAccountId(encode('AccountId32', new Uint8Array(32).fill(7)))).toEqual(
      new Uint8Array(32).fill(7),
    );
    const long = Array.from({ length: 300 }, (_, index) => index * 200);
    expect(decodeU16Vec(encode('Vec<u16>', long))).toEqual(long);
    expect(decodeU64Vec(encode('Vec<u64>', [1, 2n ** 40n]))).toEqual([1n, 2n ** 40n]);
    const axon = { block: 7, version: 10002000, ip: 2n ** 127n + 1n, port: 8091, ipType: 6, protocol: 4 };
    const axonType =
      '{"block":"u64","version":"u32","ip":"u128","port":"u16","ipType":"u8","protocol":"u8","placeholder1":"u8","placeholder2":"u8"}';
    expect(decodeAxonInfo(encode(axonType, axon))).toEqual({ ...axon, block: 7n });
  });

  it('refuse bytes that are short, long or out of range', () => {
    expect(decodeU16(new Uint8Array([1]))).toBeUndefined();
    expect(decodeU16(new Uint8Array([1, 2, 3]))).toBeUndefined();
    expect(decodeBool(new Uint8Array([2]))).toBeUndefined();
    // A vector that claims 100 elements but carries one.
    expect(decodeU16Vec(new Uint8Array([100 << 2, 1, 0]))).toBeUndefined();
    expect(decodeAccountId(new Uint8Array(31))).toBeUndefined();
  });
});
