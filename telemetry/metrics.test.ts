import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './metrics.ts';

/** The value of one series on a /metrics page. */
function sampleValue(page: string, series: string): number | undefined {
  const line = page.split('\n').find((text) => text.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('gateway metrics counted on the hot path and read at scrape time', () => {
  it('shows every count at the next scrape and keeps adding to it after', async () => {
    const metrics = createGatewayMetrics();
    metrics.hedged(18);
    metrics.hedged(18);
    metrics.coalesced(5);
    metrics.spent(18, 1500n);
    metrics.cacheLookup(18, 'hit');
    metrics.cacheLookup(18, 'miss');
    metrics.cacheLookup(18, 'hit');

    let page = await metrics.render();
    expect(sampleValue(page, 'taogate_upstream_hedges_total{netuid="18"}')).toBe(2);
    expect(sampleValue(page, 'taogate_coalesced_requests_total{netuid="5"}')).toBe(1);
    expect(sampleValue(page, 'taogate_ledger_spent_rao_total{netuid="18"}')).toBe(1500);
    expect(sampleValue(page, 'taogate_cache_lookups_total{netuid="18",result="hit"}')).toBe(2);
    expect(sampleValue(page, 'taogate_cache_lookups_total{netuid="18",result="miss"}')).toBe(1);

    metrics.hedged(18);
    metrics.spent(18, 500);
    page = await metrics.render();
    expect(sampleValue(page, 'taogate_upstream_hedges_total{netuid="18"}')).toBe(3);
    expect(sampleValue(page, 'taogate_ledger_spent_rao_total{netuid="18"}')).toBe(2000);
    expect(sampleValue(page, 'taogate_cache_lookups_total{netuid="18",result="hit"}')).toBe(2);
  });

  it('reports the requests in flight at the moment of the scrape', async () => {
    const metrics = createGatewayMetrics();
    metrics.requestStarted();
    metrics.requestStarted();
    expect(sampleValue(await metrics.render(), 'taogate_http_requests_in_flight')).toBe(2);
    metrics.requestFinished();
    metrics.requestFinished();
    expect(sampleValue(await metrics.render(), 'taogate_http_requests_in_flight')).toBe(0);
  });
});
