import { isIPv4, isIPv6 } from 'node:net';

/**
 * Axon addresses travel on chain as a u128 plus an ip type (subtensor `pallets/subtensor/src/lib.rs`, `AxonInfo`):
 * IPv4 is its big-endian 32-bit integer (1.2.3.4 = 0x01020304), IPv6 the full 128 bits.
 */
export type IpFamily = 4 | 6;

export interface IpNumber {
  value: bigint;
  family: IpFamily;
}

const IPV4_MAX = (1n << 32n) - 1n;
const IPV6_MAX = (1n << 128n) - 1n;

/** Largest integer an address of this family can hold. */
export function maxIpValue(family: IpFamily): bigint {
  return family === 4 ? IPV4_MAX : IPV6_MAX;
}

/** Dotted IPv4 or RFC 5952 IPv6 text for the chain's integer; throws a RangeError when it does not fit the family. */
export function decodeAxonIp(ip: bigint, ipType: IpFamily): string {
  if (ip < 0n || ip > maxIpValue(ipType)) {
    throw new RangeError(`ip ${ip} does not fit an IPv${ipType} address`);
  }
  return ipType === 4 ? formatIpv4(ip) : formatIpv6(ip);
}

/** The chain's integer for an IP literal, or undefined when the text is not one (hostnames are not accepted). */
export function encodeAxonIp(text: string): { ip: bigint; ipType: IpFamily } | undefined {
  const parsed = parseIp(text);
  return parsed && { ip: parsed.value, ipType: parsed.family };
}

/** Parses an IPv4 or IPv6 literal (no zone id, no brackets). */
export function parseIp(text: string): IpNumber | undefined {
  if (isIPv4(text)) return { value: parseIpv4(text), family: 4 };
  if (isIPv6(text) && !text.includes('%')) return { value: parseIpv6(text), family: 6 };
  return undefined;
}

function formatIpv4(value: bigint): string {
  const n = Number(value);
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function formatIpv6(value: bigint): string {
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted tail, as Python's ipaddress (used by bittensor) prints them.
  if (value >> 32n === 0xffffn) return `::ffff:${formatIpv4(value & IPV4_MAX)}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  const run = longestZeroRun(groups);
  const hex = groups.map((group) => group.toString(16));
  if (!run) return hex.join(':');
  return `${hex.slice(0, run.start).join(':')}::${hex.slice(run.start + run.length).join(':')}`;
}

/** RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie. */
function longestZeroRun(groups: number[]): { start: number; length: number } | undefined {
  let best: { start: number; length: number } | undefined;
  let start = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0) {
      const length = i - start;
      if (length >= 2 && (!best || length > best.length)) best = { start, length };
      start = -1;
    }
  }
  return best;
}

function parseIpv4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** Expects text already accepted by `net.isIPv6`. */
function parseIpv6(text: string): bigint {
  const [head = '', tail] = text.split('::');
  const headGroups = toGroups(head);
  const tailGroups = tail === undefined ? [] : toGroups(tail);
  const zeros = new Array<number>(8 - headGroups.length - tailGroups.length).fill(0);
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

function toGroups(part: string): number[] {
  if (part === '') return [];
  const groups: number[] = [];
  for (const piece of part.split(':')) {
    if (piece.includes('.')) {
      const v4 = Number(parseIpv4(piece));
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else {
      groups.push(Number.parseInt(piece, 16));
    }
  }
  return groups;
}
