import type { MetagraphSnapshot, MetagraphSource } from '../chain/index.ts';
import type { MinerBucket } from './metrics.ts';

/**
 * A miner's on-chain incentive rank in its subnet, as a bounded bucket for metric labels. Ranks are worked
 * out once per metagraph snapshot and subnet, not per call.
 */
export function createMinerBuckets(source: MetagraphSource) {
  const ranksBySnapshot = new WeakMap<MetagraphSnapshot, Map<number, Map<number, number>>>();

  function ranksOf(netuid: number): Map<number, number> | undefined {
    const snapshot = source.current();
    if (!snapshot) return undefined;
    let bySubnet = ranksBySnapshot.get(snapshot);
    if (!bySubnet) {
      bySubnet = new Map();
      ranksBySnapshot.set(snapshot, bySubnet);
    }
    let ranks = bySubnet.get(netuid);
    if (!ranks) {
      const neurons = snapshot.subnets.find((subnet) => subnet.netuid === netuid)?.neurons ?? [];
      const sorted = [...neurons].sort((a, b) => b.incentive - a.incentive);
      ranks = new Map(sorted.map((neuron, index) => [neuron.uid, index + 1]));
      bySubnet.set(netuid, ranks);
    }
    return ranks;
  }

  return (netuid: number, uid: number): MinerBucket => {
    const rank = ranksOf(netuid)?.get(uid);
    if (rank === undefined || rank > 20) return 'rest';
    return rank === 1 ? 'top1' : rank <= 5 ? 'top5' : 'top20';
  };
}

export type MinerBucketOf = ReturnType<typeof createMinerBuckets>;
