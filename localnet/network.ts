import { type Hotkey, hotkeyFromSecret } from '../bittensor/index.ts';
import type { Neuron, Subnet } from '../chain/metagraph.ts';
import type { SubnetProfile } from '../config/profiles.ts';
import type { MinerBehaviour } from './behaviour.ts';
import { type ChainNode, startChainNode } from './chain/index.ts';
import { startEpistulaMiner } from './epistula-miner.ts';
import { type MinerOptions, startMiner } from './miner.ts';
import type { Miner } from './miner-server.ts';

export interface LocalnetOptions {
  profiles: readonly SubnetProfile[];
  /** The gateway's hotkey, registered on every subnet as a validator with a permit (uid 0). */
  validatorHotkey: string;
  minersPerSubnet?: number;
  /** Staged faults per miner. */
  behaviour?: (netuid: number, uid: number) => Partial<MinerBehaviour> | undefined;
  /** Block time of the chain node. Default 1000 ms. */
  blockMs?: number;
}

export interface Localnet {
  /** The Substrate RPC node serving this metagraph (`ws://127.0.0.1:…`). */
  readonly chain: ChainNode;
  /** The metagraph localnet puts on chain. */
  subnets(): Subnet[];
  miner(netuid: number, uid: number): Miner;
  miners(): Miner[];
  /** Changes a neuron's on-chain incentive; it is on chain from the next block. */
  setIncentive(netuid: number, uid: number, incentive: number): void;
  close(): Promise<void>;
}

/**
 * Starts one real miner server per miner for every profiled subnet, of the kind its protocol calls for,
 * and a chain node that serves their metagraph as Subtensor storage.
 */
export async function startLocalnet(options: LocalnetOptions): Promise<Localnet> {
  const minersPerSubnet = options.minersPerSubnet ?? 4;
  const miners = new Map<string, Miner>();
  const subnets: Subnet[] = [];
  const validatorColdkey = await hotkeyFromSecret('//localnet/validator/coldkey');
  const isAllowedCaller = (hotkey: string) => hotkey === options.validatorHotkey;

  for (const profile of options.profiles.filter(onChain)) {
    const neurons: Neuron[] = [validatorNeuron(options.validatorHotkey, validatorColdkey.ss58)];
    for (let uid = 1; uid <= minersPerSubnet; uid++) {
      const [hotkey, coldkey, rogueHotkey] = await Promise.all(
        ['hotkey', 'coldkey', 'rogue'].map((role) =>
          hotkeyFromSecret(`//localnet/sn${profile.netuid}/${uid}/${role}`),
        ),
      );
      const miner = await startMinerFor(profile, {
        netuid: profile.netuid,
        uid,
        hotkey: hotkey!,
        rogueHotkey: rogueHotkey!,
        isAllowedCaller,
        behaviour: options.behaviour?.(profile.netuid, uid),
      });
      miners.set(`${profile.netuid}/${uid}`, miner);
      neurons.push(minerNeuron(uid, hotkey!, coldkey!.ss58, miner.port, minersPerSubnet));
    }
    subnets.push({ netuid: profile.netuid, tempo: LOCALNET_TEMPO, neuronCount: neurons.length, neurons });
  }

  const chain = await startChainNode({ subnets, blockMs: options.blockMs ?? 1000 });
  return {
    chain,
    subnets: () => structuredClone(subnets),
    miner(netuid, uid) {
      const miner = miners.get(`${netuid}/${uid}`);
      if (!miner) throw new Error(`localnet has no miner ${uid} on subnet ${netuid}`);
      return miner;
    },
    miners: () => [...miners.values()],
    setIncentive(netuid, uid, incentive) {
      const neuron = subnets.find((s) => s.netuid === netuid)?.neurons.find((n) => n.uid === uid);
      if (!neuron) throw new Error(`localnet has no neuron ${uid} on subnet ${netuid}`);
      neuron.incentive = incentive;
      chain.setSubnets(subnets);
    },
    async close() {
      await chain.close();
      await Promise.all([...miners.values()].map((miner) => miner.close()));
    },
  };
}

/** The miner kind the subnet's protocol calls for: an axon serving synapses, or an Epistula OpenAI server. */
function startMinerFor(
  profile: ChainSubnetProfile,
  common: Omit<MinerOptions, 'synapse' | 'task' | 'dimensions'>,
): Promise<Miner> {
  const dimensions = profile.embeddings?.dimensions;
  return profile.protocol === 'synapse'
    ? startMiner({ ...common, synapse: profile.synapse, task: profile.task, dimensions })
    : startEpistulaMiner({ ...common, model: profile.openai.model, dimensions });
}

/** Subnets whose miners are on chain; OpenAI-compatible upstreams are listed in their profiles instead. */
type ChainSubnetProfile = Exclude<SubnetProfile, { protocol: 'openai' }>;

function onChain(profile: SubnetProfile): profile is ChainSubnetProfile {
  return profile.protocol !== 'openai';
}

// Finney's tempo is 360 blocks; localnet's is short so that score changes reach the gateway within seconds.
const LOCALNET_TEMPO = 5;

function validatorNeuron(hotkey: string, coldkey: string): Neuron {
  return {
    uid: 0,
    hotkey,
    coldkey,
    stake: 20_000,
    incentive: 0,
    trust: 0,
    consensus: 0,
    dividends: 1,
    validatorPermit: true,
    lastUpdate: 0,
    axon: null,
  };
}

// Incentive falls with uid so routing preferences are visible; u16 quantisation keeps values chain-exact.
function minerNeuron(uid: number, hotkey: Hotkey, coldkey: string, port: number, count: number): Neuron {
  const share = (count + 1 - uid) / ((count * (count + 1)) / 2);
  return {
    uid,
    hotkey: hotkey.ss58,
    coldkey,
    stake: 100 * uid,
    incentive: Math.round(share * 65535) / 65535,
    trust: 0,
    consensus: Math.round(share * 65535) / 65535,
    dividends: 0,
    validatorPermit: false,
    lastUpdate: 0,
    axon: { ip: '127.0.0.1', ipType: 4, port, protocol: 4, version: 10_002_000, block: 1 },
  };
}
