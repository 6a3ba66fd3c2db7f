import { blake2AsU8a, encodeAddress } from '@polkadot/util-crypto';
import type { Neuron, Subnet } from '../../chain/index.ts';

export interface SampleSubnetsOptions {
  /** Netuids to create; default 1..count. */
  netuids?: number[];
  count?: number;
  neuronsPerSubnet: number;
  tempo?: number;
}

const SS58_PREFIX = 42;
const U16_MAX = 65535;

/** A deterministic account for a label, so the same sample always has the same keys. */
export function sampleAccount(label: string): string {
  return encodeAddress(blake2AsU8a(label, 256), SS58_PREFIX);
}

/**
 * Deterministic subnets for tests and load tests (netuids up to 255). Scores are multiples of 1/65535 and stakes
 * halves of a TAO, so they survive the chain's encodings exactly; every fourth neuron serves no axon, every
 * eighth serves over IPv6. Axons sit in private and documentation ranges: metagraph data, not dialable miners.
 */
export function sampleSubnets(options: SampleSubnetsOptions): Subnet[] {
  const netuids = options.netuids ?? Array.from({ length: options.count ?? 1 }, (_, index) => index + 1);
  return netuids.map((netuid) => ({
    netuid,
    tempo: options.tempo ?? 360,
    neuronCount: options.neuronsPerSubnet,
    neurons: Array.from({ length: options.neuronsPerSubnet }, (_, uid) => sampleNeuron(netuid, uid)),
  }));
}

function sampleNeuron(netuid: number, uid: number): Neuron {
  const score = (seed: number): number => ((netuid * 7919 + uid * 104729 + seed) % U16_MAX) / U16_MAX;
  return {
    uid,
    hotkey: sampleAccount(`hotkey/${netuid}/${uid}`),
    coldkey: sampleAccount(`coldkey/${uid % 16}`),
    stake: (uid % 10) * 1000 + 0.5,
    incentive: score(1),
    trust: score(2),
    consensus: score(3),
    dividends: score(4),
    validatorPermit: uid % 5 === 0,
    lastUpdate: 1000 + uid,
    axon:
      uid % 4 === 3
        ? null
        : {
            ip:
              uid % 8 === 1
                ? `2001:db8:${(netuid + 1).toString(16)}::${uid.toString(16)}`
                : `10.${netuid}.${Math.floor(uid / 256)}.${uid % 256}`,
            ipType: uid % 8 === 1 ? 6 : 4,
            port: 8091 + (uid % 100),
            protocol: 4,
            version: 10002000,
            block: 500 + uid,
          },
  };
}
