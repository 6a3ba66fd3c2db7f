import type { Context } from 'hono';
import type { MetagraphSource } from '../chain/index.ts';
import type { SubnetProfile } from '../config/index.ts';
import type { ChatRouter, MinerReport } from '../router/index.ts';
import { httpError } from './errors.ts';

export interface SubnetsRouteDeps {
  profiles: readonly SubnetProfile[];
  router: ChatRouter;
  source: MetagraphSource;
}

/**
 * GET /v1/subnets and /v1/subnets/{netuid}: what the gateway knows of each routable subnet, on chain and as
 * observed — so an operator can compare the chain's ranking of miners with what they actually deliver.
 */
export function subnetsHandlers(deps: SubnetsRouteDeps) {
  const byNetuid = new Map(deps.profiles.map((profile) => [profile.netuid, profile]));

  function describe(profile: SubnetProfile, withMiners: boolean) {
    const snapshot = deps.source.current();
    const onChain = snapshot?.subnets.find((subnet) => subnet.netuid === profile.netuid);
    const miners = deps.router.stats(profile.netuid);
    return {
      netuid: profile.netuid,
      name: profile.name,
      task: profile.task,
      protocol: profile.protocol,
      models: profile.models.map((model) => `sn${profile.netuid}/${model}`),
      block: snapshot?.block ?? null,
      neurons: onChain?.neuronCount ?? 0,
      routable_miners: miners.length,
      open_circuits: miners.filter((miner) => miner.circuit === 'open').length,
      observed: summarise(miners),
      ...(withMiners ? { miners: rankMiners(miners) } : {}),
    };
  }

  return {
    list: (c: Context) =>
      c.json({ object: 'list', data: deps.profiles.map((profile) => describe(profile, false)) }),
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
      return c.json(describe(profile, true));
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

function rankMiners(miners: readonly MinerReport[]) {
  const onChainRank = rankBy(miners, (miner) => miner.incentive);
  const observedRank = rankBy(miners, (miner) => miner.share);
  return miners.map((miner) => ({
    uid: miner.uid,
    hotkey: miner.hotkey,
    incentive: miner.incentive,
    on_chain_rank: onChainRank.get(miner.uid),
    routing_rank: observedRank.get(miner.uid),
    routing_share: miner.share,
    circuit: miner.circuit,
    in_flight: miner.inFlight,
    successes: miner.successes,
    failures: miner.failures,
    timeouts: miner.timeouts,
    latency_ewma_ms: miner.latencyEwmaMs ?? null,
    latency_p95_ms: miner.latencyP95Ms ?? null,
  }));
}

function rankBy(miners: readonly MinerReport[], score: (miner: MinerReport) => number): Map<number, number> {
  const sorted = [...miners].sort((a, b) => score(b) - score(a));
  return new Map(sorted.map((miner, index) => [miner.uid, index + 1]));
}
