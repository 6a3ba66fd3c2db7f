/**
 * Picks the index of one weight at random, each with probability proportional to its weight; weights of
 * zero (or less) are never picked. Undefined when nothing weighs anything. Pure: the weights carry every
 * judgement.
 */
export function selectIndex(
  weights: readonly number[],
  random: () => number = Math.random,
): number | undefined {
  let total = 0;
  for (const weight of weights) if (weight > 0) total += weight;
  if (total <= 0) return undefined;
  let point = random() * total;
  let last: number | undefined;
  for (let i = 0; i < weights.length; i++) {
    const weight = weights[i]!;
    if (weight <= 0) continue;
    last = i;
    point -= weight;
    if (point < 0) return last;
  }
  // Rounding can leave a sliver of `point`: it belongs to the last item with weight.
  return last;
}
