import type { SubnetParams } from './assemble-subnet.ts';
import { encodeU16 } from './scale-codec.ts';
import { keysWithPrefix, queryStorageAt, type StorageRpc } from './storage-fetch.ts';
import type { SubtensorLayout } from './subtensor-layout.ts';

export type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

const ROOT_NETUID = 0;
/** uids are u16; a node claiming more neurons than any subnet allows would cost 65 536 reads per item. */
const MAX_NEURONS_PER_SUBNET = 4096;

/**
 * Every registered subnet with its tempo, size and stake price: one key scan of `NetworksAdded`, then one
 * batch for all the per-subnet values.
 */
export async function readSubnetParams(
  rpc: StorageRpc,
  layout: SubtensorLayout,
  at: string,
  only: ReadonlySet<number> | undefined,
): Promise<Read<SubnetParams[]>> {
  const { NetworksAdded, SubnetworkN, Tempo, SubnetMechanism, stake } = layout;
  const listed: number[] = [];
  for (const key of await keysWithPrefix(rpc, NetworksAdded.item.prefix, at)) {
    const netuid = identityU16Argument(NetworksAdded.item.prefix, key);
    if (netuid === undefined) return { ok: false, reason: `NetworksAdded key ${key} is not a netuid` };
    if (!only || only.has(netuid)) listed.push(netuid);
  }
  listed.sort((a, b) => a - b);

  const plan = listed.map((netuid) => {
    const arg = encodeU16(netuid);
    const keys = {
      added: NetworksAdded.item.key(arg),
      n: SubnetworkN.item.key(arg),
      tempo: Tempo.item.key(arg),
      mechanism: SubnetMechanism?.item.key(arg),
      tao: stake.model === 'alpha' ? stake.subnetTao.item.key(arg) : undefined,
      alphaIn: stake.model === 'alpha' ? stake.subnetAlphaIn.item.key(arg) : undefined,
    };
    return { netuid, keys };
  });
  const allKeys = plan.flatMap(({ keys }) => Object.values(keys).filter((key) => key !== undefined));
  const values = await queryStorageAt(rpc, allKeys, at);
  const stored = (key: string | undefined): Uint8Array | null =>
    key === undefined ? null : (values.get(key) ?? null);

  const subnets: SubnetParams[] = [];
  for (const { netuid, keys: keysOf } of plan) {
    if (NetworksAdded.decode(stored(keysOf.added)) !== true) continue;
    const neuronCount = SubnetworkN.decode(stored(keysOf.n));
    const tempo = Tempo.decode(stored(keysOf.tempo));
    if (typeof neuronCount !== 'number' || typeof tempo !== 'number') {
      return { ok: false, reason: `subnet ${netuid}: SubnetworkN or Tempo is malformed` };
    }
    if (neuronCount > MAX_NEURONS_PER_SUBNET) {
      return { ok: false, reason: `subnet ${netuid}: ${neuronCount} neurons is beyond any real subnet` };
    }
    let stakePrice = 1;
    if (stake.model === 'alpha' && netuid !== ROOT_NETUID) {
      const mechanism = SubnetMechanism?.decode(stored(keysOf.mechanism));
      const tao = stake.subnetTao.decode(stored(keysOf.tao));
      const alphaIn = stake.subnetAlphaIn.decode(stored(keysOf.alphaIn));
      if (typeof tao !== 'bigint' || typeof alphaIn !== 'bigint') {
        return { ok: false, reason: `subnet ${netuid}: pool reserves are malformed` };
      }
      stakePrice = alphaPrice(mechanism, tao, alphaIn);
    }
    subnets.push({ netuid, tempo, neuronCount, stakePrice });
  }
  return { ok: true, value: subnets };
}

/** `get_alpha_price` (subtensor `pallets/subtensor/src/staking/stake_utils.rs`): root and stable pools are 1:1. */
function alphaPrice(mechanism: number | null | undefined, tao: bigint, alphaIn: bigint): number {
  if (mechanism === 0) return 1;
  return alphaIn === 0n ? 0 : Number(tao) / Number(alphaIn);
}

/** An Identity-hashed u16 key ends with the argument itself: two little-endian bytes after the prefix. */
function identityU16Argument(prefix: string, key: string): number | undefined {
  if (key.length !== prefix.length + 4) return undefined;
  const value = Number.parseInt(key.slice(-2) + key.slice(-4, -2), 16);
  return Number.isInteger(value) ? value : undefined;
}
