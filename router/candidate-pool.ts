import type { DialPolicy, MetagraphSnapshot, MetagraphSource } from '../chain/index.ts';
import type { OpenAiSubnetProfile, SubnetProfile } from '../config/profiles.ts';
import { type Candidate, type CandidateSet, candidatesOf, endpointCandidates } from './candidates.ts';
import { NoHealthyMiner } from './errors.ts';

export interface CandidatePoolOptions {
  source: MetagraphSource;
  ownHotkey: string;
  dialPolicy: DialPolicy;
  /** Profiles whose upstreams are listed in the profile (protocol `openai`) rather than on chain. */
  profiles?: readonly SubnetProfile[];
  /** Told when a subnet's candidates are worked out anew, so stats of miners gone can be dropped. */
  onCandidates(netuid: number, candidates: readonly Candidate[]): void;
  onRefused?: (netuid: number, refused: { uid: number; ip: string; reason: string }) => void;
}

/**
 * Who may be called on each subnet: the metagraph's dialable miners, or a profile's endpoints. Worked out
 * once per snapshot (or once, for endpoints), not per request; each refused address is reported once.
 */
export function createCandidatePool(options: CandidatePoolOptions) {
  const bySnapshot = new WeakMap<MetagraphSnapshot, Map<number, readonly Candidate[]>>();
  const refusedSeen = new Set<string>();
  const endpointProfiles = new Map(
    (options.profiles ?? []).flatMap((p) => (p.protocol === 'openai' ? [[p.netuid, p] as const] : [])),
  );
  const endpointSets = new Map<number, readonly Candidate[]>();

  function accepted(netuid: number, set: CandidateSet, none: string): readonly Candidate[] {
    for (const refused of set.refused) {
      const key = `${netuid}/${refused.uid}/${refused.ip}`;
      if (refusedSeen.has(key)) continue;
      refusedSeen.add(key);
      options.onRefused?.(netuid, refused);
    }
    if (set.candidates.length === 0) throw new NoHealthyMiner(netuid, none);
    options.onCandidates(netuid, set.candidates);
    return set.candidates;
  }

  function ofEndpoints(profile: OpenAiSubnetProfile): readonly Candidate[] {
    let known = endpointSets.get(profile.netuid);
    if (!known) {
      const set = endpointCandidates(profile, options.dialPolicy);
      known = accepted(profile.netuid, set, 'no endpoint is dialable');
      endpointSets.set(profile.netuid, known);
    }
    return known;
  }

  /** The subnet's candidates now; NoHealthyMiner when it has none. */
  return function candidates(netuid: number): readonly Candidate[] {
    const endpoints = endpointProfiles.get(netuid);
    if (endpoints) return ofEndpoints(endpoints);
    const snapshot = options.source.current();
    if (!snapshot) throw new NoHealthyMiner(netuid, 'the metagraph is not loaded yet');
    let bySubnet = bySnapshot.get(snapshot);
    if (!bySubnet) {
      bySubnet = new Map();
      bySnapshot.set(snapshot, bySubnet);
    }
    let known = bySubnet.get(netuid);
    if (!known) {
      const subnet = snapshot.subnets.find((s) => s.netuid === netuid);
      if (!subnet) throw new NoHealthyMiner(netuid, 'the subnet is not on chain');
      const set = candidatesOf(subnet, options.ownHotkey, options.dialPolicy);
      known = accepted(netuid, set, 'no miner serves a dialable axon');
      bySubnet.set(netuid, known);
    }
    return known;
  };
}
