import { decodeAxonIp, maxIpValue } from './ip.ts';
import type { AxonInfo, Neuron, Subnet } from './metagraph.ts';
import type { ChainAxonInfo } from './scale-codec.ts';

export interface SubnetParams {
  netuid: number;
  tempo: number;
  neuronCount: number;
  /** TAO per unit of stake as stored: 1 for TAO stake, the pool price for alpha. */
  stakePrice: number;
}

/** A subnet's per-uid vectors; null when the runtime has no such item (read as zeros). */
export interface SubnetColumns {
  incentive: number[] | null;
  trust: number[] | null;
  consensus: number[] | null;
  dividends: number[] | null;
  validatorPermit: boolean[] | null;
  lastUpdate: bigint[] | null;
}

/** One registered uid's reads; undefined marks a value that was missing or malformed. */
export interface NeuronRow {
  uid: number;
  hotkey: string;
  coldkey: string | undefined;
  stakeUnits: bigint | undefined;
  axon: ChainAxonInfo | null | undefined;
}

export interface SubnetAssembly {
  subnet: Subnet;
  /** Why some neurons were dropped or lost their axon, for the log. */
  skipped: string[];
}

const RAO_PER_TAO = 1e9;
// bittensor normalises the u16 consensus vectors by u16::MAX (`bittensor/utils/__init__.py`, `u16_normalized_float`).
const U16_MAX = 65535;

/** Turns a subnet's decoded storage into the contract's neurons. */
export function assembleSubnet(
  params: SubnetParams,
  columns: SubnetColumns,
  rows: readonly NeuronRow[],
): SubnetAssembly {
  const skipped: string[] = [];
  const neurons: Neuron[] = [];
  const score = (column: number[] | null, uid: number): number => (column?.[uid] ?? 0) / U16_MAX;
  for (const row of rows) {
    const { uid } = row;
    if (row.coldkey === undefined || row.stakeUnits === undefined) {
      skipped.push(
        `subnet ${params.netuid} uid ${uid}: ${row.coldkey === undefined ? 'no owner' : 'malformed stake'}`,
      );
      continue;
    }
    const axon = row.axon === undefined ? null : toAxon(row.axon);
    if (row.axon === undefined || (row.axon && !axon && row.axon.ip !== 0n)) {
      skipped.push(`subnet ${params.netuid} uid ${uid}: undialable axon, served as none`);
    }
    neurons.push({
      uid,
      hotkey: row.hotkey,
      coldkey: row.coldkey,
      stake: (Number(row.stakeUnits) / RAO_PER_TAO) * params.stakePrice,
      incentive: score(columns.incentive, uid),
      trust: score(columns.trust, uid),
      consensus: score(columns.consensus, uid),
      dividends: score(columns.dividends, uid),
      validatorPermit: columns.validatorPermit?.[uid] ?? false,
      lastUpdate: Number(columns.lastUpdate?.[uid] ?? 0n),
      axon,
    });
  }
  return {
    subnet: { netuid: params.netuid, tempo: params.tempo, neuronCount: params.neuronCount, neurons },
    skipped,
  };
}

/** ip 0 is bittensor's "not serving"; an unknown ip type, an ip too big for its type or port 0 cannot be dialled. */
function toAxon(axon: ChainAxonInfo | null): AxonInfo | null {
  if (!axon || axon.ip === 0n || axon.port === 0) return null;
  const { ipType } = axon;
  if ((ipType !== 4 && ipType !== 6) || axon.ip > maxIpValue(ipType)) return null;
  return {
    ip: decodeAxonIp(axon.ip, ipType),
    ipType,
    port: axon.port,
    protocol: axon.protocol,
    version: axon.version,
    block: Number(axon.block),
  };
}
