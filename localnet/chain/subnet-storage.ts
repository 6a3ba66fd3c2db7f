import { decodeAddress } from '@polkadot/util-crypto';
import { encodeAxonIp, type Neuron, type Subnet } from '../../chain/index.ts';
import type { ChainRuntime } from './chain-runtime.ts';

export interface SubnetStorageOptions {
  /** TAO per alpha on every non-root subnet (dTAO); stake is stored as alpha = stake / price. */
  alphaPrice: number;
}

const RAO_PER_TAO = 1e9;
const U16_MAX = 65535;
const ROOT_NETUID = 0;
/** Alpha in each subnet pool; the TAO side is sized to give the requested price. */
const POOL_ALPHA_RAO = 1_000_000 * RAO_PER_TAO;
const MODULE = 'SubtensorModule';

/**
 * The Subtensor storage that describes these subnets, as key-hex → value-hex. Shapes follow the spec 393
 * metadata (subtensor `pallets/subtensor/src/lib.rs`): per-subnet vectors indexed by uid, `Keys`/`Uids` between
 * uid and hotkey, `Owner` hotkey → coldkey, `Axons` (netuid, hotkey), and dTAO stake in `TotalHotkeyAlpha`.
 */
export function buildSubnetStorage(
  runtime: ChainRuntime,
  subnets: readonly Subnet[],
  options: SubnetStorageOptions,
): Map<string, string> {
  const storage = new Map<string, string>();
  const put = (item: string, args: unknown[], value: unknown): void => {
    storage.set(runtime.storageKey(MODULE, item, ...args), runtime.encodeValue(MODULE, item, value));
  };
  // Accounts go to polkadot-js as public keys: decoding the same ss58 text (base58) for every item costs seconds.
  const publicKeys = new Map<string, Uint8Array>();
  const account = (ss58: string): Uint8Array => {
    let publicKey = publicKeys.get(ss58);
    if (!publicKey) {
      publicKey = decodeAddress(ss58);
      publicKeys.set(ss58, publicKey);
    }
    return publicKey;
  };

  for (const subnet of subnets) {
    const { netuid } = subnet;
    const price = netuid === ROOT_NETUID ? 1 : options.alphaPrice;
    put('NetworksAdded', [netuid], true);
    put('SubnetworkN', [netuid], subnet.neuronCount);
    put('Tempo', [netuid], subnet.tempo);
    // Mechanism 0 is the stable (price 1) pool; every other subnet trades alpha (`get_alpha_price`).
    put('SubnetMechanism', [netuid], netuid === ROOT_NETUID ? 0 : 1);
    put('SubnetAlphaIn', [netuid], BigInt(POOL_ALPHA_RAO));
    put('SubnetTAO', [netuid], BigInt(Math.round(POOL_ALPHA_RAO * price)));

    const byUid = new Array<Neuron | undefined>(subnet.neuronCount);
    for (const neuron of subnet.neurons) byUid[neuron.uid] = neuron;
    const column = <T>(read: (neuron: Neuron) => T, empty: T): T[] =>
      Array.from(byUid, (neuron) => (neuron ? read(neuron) : empty));
    const toU16 = (value: number): number => Math.min(U16_MAX, Math.max(0, Math.round(value * U16_MAX)));

    // Incentive and LastUpdate are keyed by netuid + mechanism * 4096; mechanism 0 is the netuid itself.
    put(
      'Incentive',
      [netuid],
      column((n) => toU16(n.incentive), 0),
    );
    put(
      'Trust',
      [netuid],
      column((n) => toU16(n.trust), 0),
    );
    put(
      'Consensus',
      [netuid],
      column((n) => toU16(n.consensus), 0),
    );
    put(
      'Dividends',
      [netuid],
      column((n) => toU16(n.dividends), 0),
    );
    put(
      'ValidatorPermit',
      [netuid],
      column((n) => n.validatorPermit, false),
    );
    put(
      'LastUpdate',
      [netuid],
      column((n) => n.lastUpdate, 0),
    );

    for (const neuron of subnet.neurons) {
      const hotkey = account(neuron.hotkey);
      put('Keys', [netuid, neuron.uid], hotkey);
      put('Uids', [netuid, hotkey], neuron.uid);
      put('Owner', [hotkey], account(neuron.coldkey));
      put('TotalHotkeyAlpha', [hotkey, netuid], BigInt(Math.round((neuron.stake * RAO_PER_TAO) / price)));
      if (neuron.axon) put('Axons', [netuid, hotkey], axonValue(neuron.axon));
    }
  }
  return storage;
}

function axonValue(axon: NonNullable<Neuron['axon']>): Record<string, unknown> {
  const encoded = encodeAxonIp(axon.ip);
  if (!encoded || encoded.ipType !== axon.ipType) {
    throw new Error(`axon ip ${axon.ip} is not an IPv${axon.ipType} literal`);
  }
  return {
    block: axon.block,
    version: axon.version,
    ip: encoded.ip,
    port: axon.port,
    ipType: axon.ipType,
    protocol: axon.protocol,
    placeholder1: 0,
    placeholder2: 0,
  };
}
