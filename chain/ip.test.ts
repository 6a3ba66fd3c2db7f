import { describe, expect, it } from 'vitest';
import { decodeAxonIp, encodeAxonIp } from './ip.ts';

describe('axon ip decoding', () => {
  it('decodes an IPv4 axon from its big-endian integer', () => {
    expect(decodeAxonIp(0x01020304n, 4)).toBe('1.2.3.4');
    expect(decodeAxonIp(3_232_235_777n, 4)).toBe('192.168.1.1');
  });

  it('decodes an IPv6 axon to RFC 5952 text', () => {
    expect(decodeAxonIp(0x2001_0db8_0000_0000_0000_0000_0000_0001n, 6)).toBe('2001:db8::1');
    expect(decodeAxonIp(1n, 6)).toBe('::1');
    expect(decodeAxonIp(0x2001_0db8_0000_0001_0000_0000_0001_0000n, 6)).toBe('2001:db8:0:1::1:0');
    // A single zero group is not compressed; of two equal runs the first is.
    expect(decodeAxonIp(0x2001_0db8_0000_0001_0001_0001_0001_0001n, 6)).toBe('2001:db8:0:1:1:1:1:1');
    expect(decodeAxonIp(0x2001_0000_0000_0001_0000_0000_0001_0001n, 6)).toBe('2001::1:0:0:1:1');
  });

  it('keeps the dotted tail of an IPv4-mapped IPv6 address', () => {
    expect(decodeAxonIp(0xffff_0a00_0005n, 6)).toBe('::ffff:10.0.0.5');
  });

  it('refuses an integer too large for its ip type', () => {
    expect(() => decodeAxonIp(1n << 32n, 4)).toThrow(RangeError);
    expect(() => decodeAxonIp(1n << 128n, 6)).toThrow(RangeError);
  });

  it('encodes ip text back to the chain integer', () => {
    expect(encodeAxonIp('1.2.3.4')).toEqual({ ip: 0x01020304n, ipType: 4 });
    expect(encodeAxonIp('2001:db8::1')).toEqual({
      ip: 0x2001_0db8_0000_0000_0000_0000_0000_0001n,
      ipType: 6,
    });
    expect(encodeAxonIp('::ffff:10.0.0.5')).toEqual({ ip: 0xffff_0a00_0005n, ipType: 6 });
    expect(encodeAxonIp('miner.example.com')).toBeUndefined();
    expect(encodeAxonIp('fe80::1%eth0')).toBeUndefined();
  });
});
