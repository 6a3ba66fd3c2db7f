/**
 * When to re-read a subnet. Its metagraph only changes when its epoch runs, once every `tempo` blocks
 * (subtensor `pallets/subtensor/src/coinbase/run_coinbase.rs`), so by default each subnet is re-read once per
 * tempo, never more often than every few seconds; a fixed `refreshMs` re-reads every subnet on that period.
 */
export type RefreshPolicy =
  | { kind: 'per-tempo'; minIntervalMs: number }
  | { kind: 'fixed'; intervalMs: number };

export interface LastRead {
  block: number;
  at: number;
}

export interface SubnetTiming {
  netuid: number;
  tempo: number;
}

export const MIN_TEMPO_REFRESH_MS = 3_000;

export function refreshPolicy(refreshMs: number | undefined): RefreshPolicy {
  return refreshMs === undefined
    ? { kind: 'per-tempo', minIntervalMs: MIN_TEMPO_REFRESH_MS }
    : { kind: 'fixed', intervalMs: Math.max(0, refreshMs) };
}

/** The subnets to re-read at this head: never read, or read long enough ago under the policy. */
export function dueSubnets(
  subnets: readonly SubnetTiming[],
  lastReads: ReadonlyMap<number, LastRead>,
  head: { block: number; now: number },
  policy: RefreshPolicy,
): number[] {
  return subnets
    .filter(({ netuid, tempo }) => {
      const last = lastReads.get(netuid);
      if (!last) return true;
      const blocks = head.block - last.block;
      const elapsed = head.now - last.at;
      if (policy.kind === 'fixed') return blocks > 0 && elapsed >= policy.intervalMs;
      return blocks >= Math.max(1, tempo) && elapsed >= policy.minIntervalMs;
    })
    .map(({ netuid }) => netuid);
}
