import type { MetagraphSnapshot, MetagraphSource, Neuron } from '../chain/index.ts';
import type { SubnetProfile } from '../config/index.ts';
import type { ResilienceSettings } from './settings.ts';

/** A one-subnet metagraph for router tests: miners uid 1…n on loopback, with the incentives given. */

export const NETUID = 1;
// The router reads only the netuid and attempt timeout of a profile and hands the profile to `adapterFor`.
export const profile = { netuid: NETUID, timeoutSeconds: 600 } as SubnetProfile;
export const request = { messages: [{ role: 'user' as const, content: 'hi' }] };

export const RESILIENCE: ResilienceSettings = {
  statsHalfLifeMs: 60_000,
  breaker: { failureThreshold: 3, cooldownMs: 1000, maxCooldownMs: 8000 },
  retryBudget: { ratio: 0.2, floor: 10, windowMs: 10_000 },
  inFlight: { minerMaxInFlight: 16, subnetMaxInFlight: 64 },
};

function neuron(uid: number, incentive: number): Neuron {
  return {
    uid,
    hotkey: `hotkey-${uid}`,
    coldkey: `coldkey-${uid}`,
    stake: 0,
    incentive,
    trust: 0,
    consensus: 0,
    dividends: 0,
    validatorPermit: false,
    lastUpdate: 0,
    axon: { ip: '127.0.0.1', ipType: 4, port: 9000 + uid, protocol: 4, version: 1, block: 1 },
  };
}

export function sourceOf(incentives: number[]): MetagraphSource {
  const neurons = incentives.map((incentive, i) => neuron(i + 1, incentive));
  const snapshot: MetagraphSnapshot = {
    block: 1,
    readAt: 0,
    subnets: [{ netuid: NETUID, tempo: 360, neuronCount: neurons.length, neurons }],
  };
  return {
    current: () => snapshot,
    ready: async () => snapshot,
    onUpdate: () => () => {},
    close: async () => {},
  };
}

export async function textOf(text: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const chunk of text) all += chunk;
  return all;
}
