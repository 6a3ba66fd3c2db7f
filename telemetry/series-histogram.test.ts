import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { seriesHistogram } from './series-histogram.ts';

describe('seriesHistogram', () => {
  it('renders in /metrics exactly as a prom-client Histogram given the same samples', async () => {
    const buckets = [0.005, 0.1, 1, 2.5];
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = seriesHistogram({
      name: 'taogate_test_seconds',
      help: 'Test latency',
      buckets,
      registers: [ours],
    });
    const reference = new Histogram({
      name: 'taogate_test_seconds',
      help: 'Test latency',
      labelNames: ['netuid', 'model'],
      buckets,
      registers: [theirs],
    });
    const sn1 = { netuid: '1', model: 'sn1/apex-chat' };
    const sn18 = { netuid: '18', model: 'sn18/cortex "chat"\\' };
    // On a bound, between bounds, above every bound, zero.
    const samples: [typeof sn1, number][] = [
      [sn1, 0.005],
      [sn1, 0.05],
      [sn18, 3],
      [sn1, 0],
      [sn18, 0.7],
      [sn1, 2.5],
    ];
    for (const [labels, value] of samples) {
      histogram.observe(labels, value);
      reference.observe({ ...labels }, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain(
      'taogate_test_seconds_bucket{le="+Inf",netuid="1",model="sn1/apex-chat"} 4',
    );

    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('_bucket');
  });
});
