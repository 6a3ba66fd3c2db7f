import { type IpFamily, type IpNumber, parseIp } from './ip.ts';

/**
 * The chain refuses only 127.0.0.1, ::1, IPv4 ≥ 255.255.255.255 and u128::MAX as axon ips (ip 0 is allowed, "for
 * testing"; subtensor `pallets/subtensor/src/subnets/serving.rs`, `is_valid_ip_address`), so any registered hotkey
 * can point the gateway at a private or cloud-metadata address. Every upstream dial goes through `checkDialable`.
 */
export type UndialableReason =
  | 'not-an-ip'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

export type DialCheck = { ok: true } | { ok: false; reason: UndialableReason };

export interface DialPolicy {
  /** Localnet miners listen on 127.0.0.1. */
  allowLoopback?: boolean;
  /** Private networks (RFC 1918, CGNAT 100.64/10, unique-local fc00::/7) for a gateway deployed beside its miners. */
  allowPrivate?: boolean;
}

interface Range {
  family: IpFamily;
  base: bigint;
  prefix: number;
  /** What the range is, or which bits hold an embedded IPv4 address to judge instead. */
  verdict: UndialableReason | { embeddedIpv4Shift: bigint };
}

function range(cidr: string, verdict: Range['verdict']): Range {
  const [address = '', prefix = ''] = cidr.split('/');
  const parsed = parseIp(address);
  if (!parsed) throw new Error(`bad range ${cidr}`);
  return { family: parsed.family, base: parsed.value, prefix: Number(prefix), verdict };
}

// First match wins, so a narrower range comes before the wider one it sits in.
const RANGES: readonly Range[] = [
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'private'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'reserved'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'reserved'),
  range('198.51.100.0/24', 'reserved'),
  range('203.0.113.0/24', 'reserved'),
  range('224.0.0.0/4', 'multicast'),
  range('255.255.255.255/32', 'broadcast'),
  range('240.0.0.0/4', 'reserved'),
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('::ffff:0:0/96', { embeddedIpv4Shift: 0n }),
  range('64:ff9b::/96', { embeddedIpv4Shift: 0n }),
  range('::/96', 'reserved'),
  range('100::/64', 'reserved'),
  range('2001:db8::/32', 'reserved'),
  range('2002::/16', { embeddedIpv4Shift: 80n }),
  range('fc00::/7', 'private'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'private'),
  range('ff00::/8', 'multicast'),
];

/** Whether the gateway may open a connection to this IP literal (hostnames are refused: they can resolve anywhere). */
export function checkDialable(ip: string, policy: DialPolicy = {}): DialCheck {
  const parsed = parseIp(ip);
  if (!parsed) return { ok: false, reason: 'not-an-ip' };
  return judge(parsed, policy);
}

function judge(address: IpNumber, policy: DialPolicy): DialCheck {
  const match = RANGES.find((candidate) => contains(candidate, address));
  if (!match) return { ok: true };
  const { verdict } = match;
  if (typeof verdict !== 'string') {
    const embedded = (address.value >> verdict.embeddedIpv4Shift) & 0xffffffffn;
    return judge({ value: embedded, family: 4 }, policy);
  }
  if (verdict === 'loopback' && policy.allowLoopback) return { ok: true };
  if (verdict === 'private' && policy.allowPrivate) return { ok: true };
  return { ok: false, reason: verdict };
}

function contains(candidate: Range, address: IpNumber): boolean {
  if (candidate.family !== address.family) return false;
  const shift = BigInt((address.family === 4 ? 32 : 128) - candidate.prefix);
  return address.value >> shift === candidate.base >> shift;
}
