import type { Histogram, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

interface Series {
  readonly labels: Labels;
  /** Samples per bucket, not cumulative; the last one is above every bound (`+Inf` only). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export interface SeriesHistogramConfig {
  name: string;
  help: string;
  /** Upper bounds, ascending. */
  buckets: readonly number[];
  registers: readonly Registry[];
}

/**
 * A Prometheus histogram for what is observed on every request. prom-client's `Histogram.observe` builds a
 * label string, validates the labels and turns the bucket bound into a property name on every call: a few
 * µs per request over the gateway's request and attempt histograms. Here a series is found by its label
 * object, which must be the same object each time for the same series (`labelSets`), and a sample is a
 * bucket search and three additions. prom-client's registry renders it from `get()` at scrape time,
 * line for line as it renders its own histograms (`series-histogram.test.ts` holds it to that).
 */
export function seriesHistogram({ name, help, buckets, registers }: SeriesHistogramConfig) {
  const bounds = Float64Array.from(buckets);
  const series = new Map<Labels, Series>();

  const histogram = {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    observe(labels: Labels, value: number): void {
      let entry = series.get(labels);
      if (!entry) {
        entry = { labels, counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
        series.set(labels, entry);
      }
      let bucket = 0;
      while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
      entry.counts[bucket]!++;
      entry.sum += value;
      entry.count++;
    },
    /** The shape prom-client's registry reads from a metric: cumulative buckets, `+Inf`, sum and count. */
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const { labels, counts, sum, count } of series.values()) {
        let cumulative = 0;
        bounds.forEach((le, bucket) => {
          cumulative += counts[bucket]!;
          values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${name}_bucket` });
        values.push({ labels, value: sum, metricName: `${name}_sum` });
        values.push({ labels, value: count, metricName: `${name}_count` });
      }
      return { name, help, type: histogram.type, aggregator: histogram.aggregator, values };
    },
    reset(): void {
      series.clear();
    },
  };
  // The registry reads a metric through get(), name, type and reset() alone; its type names prom-client's
  // classes, which this stands beside rather than extends.
  for (const registry of registers) registry.registerMetric(histogram as unknown as Histogram);
  return { observe: histogram.observe };
}
