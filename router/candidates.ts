import type { MinerTarget } from '../adapters/index.ts';
import type { Subnet } from '../chain/index.ts';
import { checkDialable, type DialPolicy } from '../chain/index.ts';
import type { OpenAiSubnetProfile } from '../config/profiles.ts';

export interface Candidate extends MinerTarget {
  incentive: number;
  /** Stake in TAO: a reranker feature. */
  stake: number;
}

export interface CandidateSet {
  candidates: Candidate[];
  /** Axons refused by the SSRF guard, with the reason, for logs and stats. */
  refused: { uid: number; ip: string; reason: string }[];
}

/**
 * The miners of a subnet the gateway may call: serving an axon, not the gateway itself, and at an address
 * the guard accepts — chain data is untrusted, and an axon can claim any IP.
 */
export function candidatesOf(subnet: Subnet, ownHotkey: string, policy: DialPolicy): CandidateSet {
  const candidates: Candidate[] = [];
  const refused: CandidateSet['refused'] = [];
  for (const neuron of subnet.neurons) {
    const axon = neuron.axon;
    if (!axon || neuron.hotkey === ownHotkey || axon.port === 0) continue;
    const verdict = checkDialable(axon.ip, policy);
    if (!verdict.ok) {
      refused.push({ uid: neuron.uid, ip: axon.ip, reason: verdict.reason });
      continue;
    }
    candidates.push({
      netuid: subnet.netuid,
      uid: neuron.uid,
      hotkey: neuron.hotkey,
      ip: axon.ip,
      port: axon.port,
      incentive: neuron.incentive,
      stake: neuron.stake,
    });
  }
  return { candidates, refused };
}

/**
 * The endpoints an OpenAI-compatible profile lists, as candidates the router weighs and fails over across
 * like miners (equal incentive). Addresses written as IP literals are judged here; host names are judged
 * when they resolve, by the dispatcher that dials them (adapters' guarded lookup).
 */
export function endpointCandidates(profile: OpenAiSubnetProfile, policy: DialPolicy): CandidateSet {
  const candidates: Candidate[] = [];
  const refused: CandidateSet['refused'] = [];
  const urls = profile.upstream.baseUrls;
  urls.forEach((baseUrl, uid) => {
    const url = new URL(baseUrl);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const literal = checkDialable(host, policy);
    if (!literal.ok && literal.reason !== 'not-an-ip') {
      refused.push({ uid, ip: host, reason: literal.reason });
      return;
    }
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const base = baseUrl.replace(/\/+$/, '');
    // The base URL stands in for a hotkey: it keys the endpoint's stats, breaker and in-flight count.
    candidates.push({
      netuid: profile.netuid,
      uid,
      hotkey: base,
      ip: host,
      port,
      baseUrl: base,
      incentive: 1 / urls.length,
      stake: 0,
    });
  });
  return { candidates, refused };
}
