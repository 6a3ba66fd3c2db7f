import { describe, expect, it } from 'vitest';
import { checkDialable } from './dialable.ts';

describe('checkDialable (SSRF guard for axon addresses)', () => {
  it('accepts public addresses', () => {
    expect(checkDialable('8.8.8.8')).toEqual({ ok: true });
    expect(checkDialable('2606:4700:4700::1111')).toEqual({ ok: true });
  });

  it('refuses private networks unless allowed', () => {
    expect(checkDialable('10.0.0.5')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('172.16.4.1')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('192.168.1.10')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('100.64.0.1')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('fd12:3456::1')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('10.0.0.5', { allowPrivate: true })).toEqual({ ok: true });
  });

  it('refuses loopback unless allowed, as localnet miners need', () => {
    expect(checkDialable('127.0.0.1')).toEqual({ ok: false, reason: 'loopback' });
    expect(checkDialable('::1')).toEqual({ ok: false, reason: 'loopback' });
    expect(checkDialable('127.0.0.1', { allowLoopback: true })).toEqual({ ok: true });
  });

  it('refuses link-local addresses, including the cloud metadata endpoint', () => {
    expect(checkDialable('169.254.169.254')).toEqual({ ok: false, reason: 'link-local' });
    expect(checkDialable('fe80::1')).toEqual({ ok: false, reason: 'link-local' });
    expect(checkDialable('169.254.169.254', { allowLoopback: true, allowPrivate: true }).ok).toBe(false);
  });

  it('refuses unspecified, multicast, broadcast and reserved addresses', () => {
    expect(checkDialable('0.0.0.0')).toEqual({ ok: false, reason: 'unspecified' });
    expect(checkDialable('::')).toEqual({ ok: false, reason: 'unspecified' });
    expect(checkDialable('224.0.0.1')).toEqual({ ok: false, reason: 'multicast' });
    expect(checkDialable('ff02::1')).toEqual({ ok: false, reason: 'multicast' });
    expect(checkDialable('255.255.255.255')).toEqual({ ok: false, reason: 'broadcast' });
    expect(checkDialable('240.0.0.1')).toEqual({ ok: false, reason: 'reserved' });
  });

  it('judges an IPv4 address wrapped in IPv6 by the address inside', () => {
    expect(checkDialable('::ffff:127.0.0.1')).toEqual({ ok: false, reason: 'loopback' });
    expect(checkDialable('::ffff:169.254.169.254')).toEqual({ ok: false, reason: 'link-local' });
    expect(checkDialable('::ffff:a00:5')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('64:ff9b::10.0.0.5')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('2002:0a00:0005::1')).toEqual({ ok: false, reason: 'private' });
    expect(checkDialable('::ffff:8.8.8.8')).toEqual({ ok: true });
  });

  it('refuses anything that is not an IP literal', () => {
    expect(checkDialable('metadata.google.internal')).toEqual({ ok: false, reason: 'not-an-ip' });
    expect(checkDialable('')).toEqual({ ok: false, reason: 'not-an-ip' });
  });
});
