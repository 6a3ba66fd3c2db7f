import type { Candidate } from './candidates.ts';

/**
 * Weight of a miner that validators gave no incentive: small, so new or unscored miners still see some
 * traffic, but bounded, so they never crowd out the miners the chain rates.
 */
export const EXPLORATION_WEIGHT = 0.01;

/** Picks one miner at random, weighted by on-chain incentive, among those not yet tried. */
export function selectMiner(
  candidates: readonly Candidate[],
  tried: ReadonlySet<number>,
  random: () => number = Math.random,
): Candidate | undefined {
  let total = 0;
  for (const candidate of candidates) if (!tried.has(candidate.uid)) total += weightOf(candidate);
  if (total <= 0) return undefined;
  let point = random() * total;
  let last: Candidate | undefined;
  for (const candidate of candidates) {
    if (tried.has(candidate.uid)) continue;
    last = candidate;
    point -= weightOf(candidate);
    if (point < 0) return candidate;
  }
  return last;
}

function weightOf(candidate: Candidate): number {
  return Math.max(0, candidate.incentive) + EXPLORATION_WEIGHT;
}
