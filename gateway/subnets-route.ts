import type { Context } from 'hono';
import type { MetagraphSource } from '../chain/index.ts';
import type { SubnetProfile } from '../config/index.ts';
import type { ChatRouter, MinerReport } from '../router/index.ts';
import type { SubnetTraffic } from '../telemetry/index.ts';
import { httpError } from './errors.ts';

export interface SubnetsRouteDeps {
  profiles: readonly SubnetProfile[];
  router: ChatRouter;
  source: MetagraphSource;
  metrics: { traffic: SubnetTraffic };
}

/** Decayed successes below this are a miner that has not answered lately: not counted as active. */
const ACTIVE_SUCCESSES = 0.05;

/**
 * GET /v1/subnets and /v1/subnets/{netuid}: what the gateway knows of each routable subnet, on chain and as
 * observed — so an operator can compare the chain's ranking of miners with what they actually deliver.
 * `?include=series` adds the 10-minute latency series (5-second points), `?include=miners` the per-miner
 * table to the list (the single-subnet answer always has it).
 */
export function subnetsHandlers(deps: SubnetsRouteDeps) {
  const byNetuid = new Map(deps.profiles.map((profile) => [profile.netuid, profile]));

  function describe(profile: SubnetProfile, include: { miners: boolean; series: boolean }) {
    const snapshot = deps.source.current();
    const onChain = snapshot?.subnets.find((subnet) => subnet.netuid === profile.netuid);
    const miners = deps.router.stats(profile.netuid);
    const traffic = deps.metrics.traffic.summary(profile.netuid);
    return {
      netuid: profile.netuid,
      name: profile.name,
      task: profile.task,
      protocol: profile.protocol,
      models: profile.models.map((model) => `sn${profile.netuid}/${model}`),
      block: snapshot?.block ?? null,
      neurons: onChain?.neuronCount ?? 0,
      routable_miners: miners.length,
      active_miners: miners.filter((m) => m.circuit !== 'open' && m.successes >= ACTIVE_SUCCESSES).length,
      open_circuits: miners.filter((miner) => miner.circuit === 'open').length,
      observed: summarise(miners),
      traffic: {
        requests: traffic.requests,
        errors: traffic.errors,
        success_rate: traffic.successRate,
        latency_ms: traffic.latencyMs,
        first_token_ms: traffic.firstTokenMs,
        cache: { hits: traffic.cache.hits, misses: traffic.cache.misses, hit_rate: traffic.cache.hitRate },
      },
      ...(include.series ? { series: seriesOf(deps.metrics.traffic, profile.netuid) } : {}),
      ...(include.miners ? { miners: rankMiners(miners) } : {}),
    };
  }

  return {
    list: (c: Context) => {
      const include = new Set((c.req.query('include') ?? '').split(','));
      const parts = { miners: include.has('miners'), series: include.has('series') };
      return c.json({ object: 'list', data: deps.profiles.map((profile) => describe(profile, parts)) });
    },
    one: (c: Context) => {
      const profile = byNetuid.get(Number(c.req.param('netuid')));
      if (!profile) {
        const error = httpError(
          404,
          `No routable subnet '${c.req.param('netuid')}'`,
          'invalid_request_error',
          'subnet_not_found',
        );
        return c.json(error.body, error.status);
      }
      const series = (c.req.query('include') ?? '').split(',').includes('series');
      return c.json(describe(profile, { miners: true, series }));
    },
  };
}

// Counts are decayed (recent traffic weighs most), so the rate describes the subnet as it is now.
function summarise(miners: readonly MinerReport[]) {
  let successes = 0;
  let failures = 0;
  let timeouts = 0;
  for (const miner of miners) {
    successes += miner.successes;
    failures += miner.failures;
    timeouts += miner.timeouts;
  }
  const total = successes + failures + timeouts;
  return { success_rate: total > 0 ? successes / total : null, recent_attempts: Math.round(total) };
}

function seriesOf(traffic: SubnetTraffic, netuid: number) {
  return traffic.series(netuid).map((point) => ({
    t: point.t,
    requests: point.requests,
    errors: point.errors,
    cache_hits: point.cacheHits,
    p50_ms: point.p50Ms,
    p95_ms: point.p95Ms,
  }));
}

/**
 * Three rankings side by side: the chain's (incentive), the router's (share of the next request), and what
 * the gateway saw (success ratio, then speed); miners not yet observed have no observed rank.
 */
function rankMiners(miners: readonly MinerReport[]) {
  const onChainRank = rankBy(miners, (a, b) => b.incentive - a.incentive);
  const routingRank = rankBy(miners, (a, b) => b.share - a.share);
  const observed = miners.filter((miner) => attemptsOf(miner) > 0);
  const observedRank = rankBy(
    observed,
    (a, b) =>
      successRatio(b) - successRatio(a) ||
      (a.latencyEwmaMs ?? Number.POSITIVE_INFINITY) - (b.latencyEwmaMs ?? Number.POSITIVE_INFINITY),
  );
  return miners.map((miner) => ({
    uid: miner.uid,
    hotkey: miner.hotkey,
    incentive: miner.incentive,
    on_chain_rank: onChainRank.get(miner.uid),
    routing_rank: routingRank.get(miner.uid),
    observed_rank: observedRank.get(miner.uid) ?? null,
    routing_share: miner.share,
    circuit: miner.circuit,
    in_flight: miner.inFlight,
    successes: miner.successes,
    failures: miner.failures,
    timeouts: miner.timeouts,
    success_rate: attemptsOf(miner) > 0 ? successRatio(miner) : null,
    latency_ewma_ms: miner.latencyEwmaMs ?? null,
    latency_p95_ms: miner.latencyP95Ms ?? null,
  }));
}

function attemptsOf(miner: MinerReport): number {
  return miner.successes + miner.failures + miner.timeouts;
}

function successRatio(miner: MinerReport): number {
  return miner.successes / attemptsOf(miner);
}

function rankBy(
  miners: readonly MinerReport[],
  compare: (a: MinerReport, b: MinerReport) => number,
): Map<number, number> {
  const sorted = [...miners].sort(compare);
  return new Map(sorted.map((miner, index) => [miner.uid, index + 1]));
}
