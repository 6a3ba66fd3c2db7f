import { Gauge, type Registry } from 'prom-client';

/** What a subnet looks like now, read at scrape time (the router's per-miner report, trimmed). */
export interface SubnetGaugeSource {
  netuids: readonly number[];
  miners(netuid: number): readonly { circuit: 'closed' | 'open' | 'half-open'; inFlight: number }[];
}

/** The response cache's state, read at scrape time (its stats). */
export interface CacheGaugeSource {
  memory: { entries: number; bytes: number; evictions: number };
  redis: { connected: boolean; errors: number } | null;
}

/**
 * Gauges whose values are read when Prometheus scrapes, from the live state of the router and the cache,
 * rather than kept up to date on every request.
 */
export function registerScrapeGauges(registers: Registry[]) {
  let subnets: SubnetGaugeSource | undefined;
  new Gauge({
    name: 'taogate_upstream_in_flight',
    help: 'Calls open to miners, per subnet',
    labelNames: ['netuid'],
    registers,
    collect() {
      this.reset();
      for (const netuid of subnets?.netuids ?? []) {
        const open = subnets!.miners(netuid).reduce((sum, miner) => sum + miner.inFlight, 0);
        this.set({ netuid: String(netuid) }, open);
      }
    },
  });
  new Gauge({
    name: 'taogate_circuit_breakers',
    help: 'Miners per circuit-breaker state, per subnet',
    labelNames: ['netuid', 'state'],
    registers,
    collect() {
      this.reset();
      for (const netuid of subnets?.netuids ?? []) {
        const counts = { closed: 0, open: 0, 'half-open': 0 };
        for (const miner of subnets!.miners(netuid)) counts[miner.circuit]++;
        for (const [state, count] of Object.entries(counts))
          this.set({ netuid: String(netuid), state }, count);
      }
    },
  });

  let cache: (() => CacheGaugeSource) | undefined;
  new Gauge({
    name: 'taogate_cache_memory_bytes',
    help: 'Bytes held by the in-process response cache',
    registers,
    collect() {
      if (cache) this.set(cache().memory.bytes);
    },
  });
  new Gauge({
    name: 'taogate_cache_memory_entries',
    help: 'Answers held by the in-process response cache',
    registers,
    collect() {
      if (cache) this.set(cache().memory.entries);
    },
  });
  new Gauge({
    name: 'taogate_cache_evictions',
    help: 'Answers evicted from the in-process cache to stay within its bytes (cumulative)',
    registers,
    collect() {
      if (cache) this.set(cache().memory.evictions);
    },
  });
  new Gauge({
    name: 'taogate_cache_redis_errors',
    help: 'Cache commands Redis failed or was too slow for, answered without it (cumulative)',
    registers,
    collect() {
      const redis = cache?.().redis;
      if (redis) this.set(redis.errors);
    },
  });

  return {
    watchSubnets(source: SubnetGaugeSource): void {
      subnets = source;
    },
    watchCache(source: () => CacheGaugeSource): void {
      cache = source;
    },
  };
}
