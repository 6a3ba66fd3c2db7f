import type { Counter } from 'prom-client';

/**
 * Counts for a prom-client counter, added up on the hot path as plain sums per label object and handed to
 * the counter when it is collected (at each scrape): `Counter.inc` builds a label string to find its
 * series on every call, too much per request for counts read every 15 s or more. The label objects must
 * be the same object for the same series each time (`labelSets`), as they key the sums.
 */
export function scrapeTimeCounts<Labels extends Record<string, string>>() {
  const pending = new Map<Labels, number>();
  return {
    add(labels: Labels, amount = 1): void {
      pending.set(labels, (pending.get(labels) ?? 0) + amount);
    },
    /** For the counter's `collect`: prom-client calls it before reading the counter's values. */
    flushInto(counter: Counter<string>): void {
      for (const [labels, amount] of pending) counter.inc(labels, amount);
      pending.clear();
    },
  };
}
