import type { MetadataLatest } from '@polkadot/types/interfaces';
import {
  type Decoder,
  decodeAccountId,
  decodeAxonInfo,
  decodeBool,
  decodeBoolVec,
  decodeU16,
  decodeU16Vec,
  decodeU64,
  decodeU64Vec,
} from './scale-codec.ts';
import { findStorageItem, type StorageItem } from './storage-layout.ts';

/** A storage item together with the decoder its metadata shape calls for. */
export interface TypedItem<T> {
  item: StorageItem;
  /** The stored value; a missing key reads as the item's default, or null for an `OptionQuery` item. */
  decode(stored: Uint8Array | null): T | null | undefined;
}

const ACCOUNT = '[u8;32]';
const AXON_INFO =
  '{block:u64,version:u32,ip:u128,port:u16,ip_type:u8,protocol:u8,placeholder1:u8,placeholder2:u8}';

interface Spec<T> {
  keys: string[];
  value: string;
  decoder: Decoder<T>;
}

const spec = <T>(keys: string[], value: string, decoder: Decoder<T>): Spec<T> => ({ keys, value, decoder });

/**
 * The `SubtensorModule` items the reader uses, with the shapes it understands (subtensor
 * `pallets/subtensor/src/lib.rs`). Incentive and LastUpdate are keyed by `netuid + mechanism * 4096` on current
 * runtimes (`pallets/subtensor/src/subnets/mechanism.rs`): mechanism 0, the one read here, is the netuid itself.
 */
const REQUIRED = {
  NetworksAdded: spec(['u16'], 'bool', decodeBool),
  SubnetworkN: spec(['u16'], 'u16', decodeU16),
  Tempo: spec(['u16'], 'u16', decodeU16),
  Keys: spec(['u16', 'u16'], ACCOUNT, decodeAccountId),
  Owner: spec([ACCOUNT], ACCOUNT, decodeAccountId),
};

const OPTIONAL = {
  Incentive: spec(['u16'], 'Vec<u16>', decodeU16Vec),
  Trust: spec(['u16'], 'Vec<u16>', decodeU16Vec),
  Consensus: spec(['u16'], 'Vec<u16>', decodeU16Vec),
  Dividends: spec(['u16'], 'Vec<u16>', decodeU16Vec),
  ValidatorPermit: spec(['u16'], 'Vec<bool>', decodeBoolVec),
  LastUpdate: spec(['u16'], 'Vec<u64>', decodeU64Vec),
  Axons: spec(['u16', ACCOUNT], AXON_INFO, decodeAxonInfo),
  SubnetMechanism: spec(['u16'], 'u16', decodeU16),
};

const STAKE = {
  TotalHotkeyAlpha: spec([ACCOUNT, 'u16'], 'u64', decodeU64),
  SubnetTAO: spec(['u16'], 'u64', decodeU64),
  SubnetAlphaIn: spec(['u16'], 'u64', decodeU64),
  TotalHotkeyStake: spec([ACCOUNT], 'u64', decodeU64),
};

type Typed<S> = { [K in keyof S]: S[K] extends Spec<infer T> ? TypedItem<T> : never };

/**
 * Stake before dTAO (finney ≤ spec 219) is one TAO amount per hotkey; with dTAO (testnet 224+, finney 2025+) it
 * is alpha per (hotkey, subnet), valued at the subnet pool price (`pallets/subtensor/src/staking/stake_utils.rs`).
 */
export type StakeLayout =
  | { model: 'tao'; totalHotkeyStake: TypedItem<bigint> }
  | {
      model: 'alpha';
      totalHotkeyAlpha: TypedItem<bigint>;
      subnetTao: TypedItem<bigint>;
      subnetAlphaIn: TypedItem<bigint>;
    };

export type SubtensorLayout = Typed<typeof REQUIRED> &
  Partial<Typed<typeof OPTIONAL>> & { stake: StakeLayout; ss58Format: number };

export type LayoutResolution = { ok: true; layout: SubtensorLayout } | { ok: false; reason: string };

/** Checks every item against this runtime's metadata; a shape the reader does not understand is an error, not zeros. */
export function resolveSubtensorLayout(metadata: MetadataLatest, ss58Format: number): LayoutResolution {
  const problems: string[] = [];
  const resolveAll = <S extends Record<string, Spec<unknown>>>(
    specs: S,
    required: boolean,
  ): Partial<Typed<S>> => {
    const resolved: Record<string, TypedItem<unknown>> = {};
    for (const [name, wanted] of Object.entries(specs)) {
      const item = findStorageItem(metadata, 'SubtensorModule', name);
      if (!item) {
        if (required) problems.push(`runtime has no SubtensorModule.${name}`);
        continue;
      }
      const keys = item.keyShapes.join(',');
      if (keys !== wanted.keys.join(',') || item.valueShape !== wanted.value) {
        problems.push(
          `${name} is (${keys}) → ${item.valueShape}, expected (${wanted.keys.join(',')}) → ${wanted.value}`,
        );
        continue;
      }
      resolved[name] = { item, decode: (stored) => decodeStored(item, wanted.decoder, stored) };
    }
    return resolved as Partial<Typed<S>>;
  };

  const required = resolveAll(REQUIRED, true);
  const optional = resolveAll(OPTIONAL, false);
  const stake = resolveAll(STAKE, false);
  const stakeLayout: StakeLayout | undefined =
    stake.TotalHotkeyAlpha && stake.SubnetTAO && stake.SubnetAlphaIn
      ? {
          model: 'alpha',
          totalHotkeyAlpha: stake.TotalHotkeyAlpha,
          subnetTao: stake.SubnetTAO,
          subnetAlphaIn: stake.SubnetAlphaIn,
        }
      : stake.TotalHotkeyStake && { model: 'tao', totalHotkeyStake: stake.TotalHotkeyStake };
  if (!stakeLayout)
    problems.push('runtime has neither TotalHotkeyAlpha/SubnetTAO/SubnetAlphaIn nor TotalHotkeyStake');
  if (problems.length > 0 || !stakeLayout) return { ok: false, reason: problems.join('; ') };
  // No problems means every required item resolved.
  return {
    ok: true,
    layout: { ...(required as Typed<typeof REQUIRED>), ...optional, stake: stakeLayout, ss58Format },
  };
}

function decodeStored<T>(
  item: StorageItem,
  decoder: Decoder<T>,
  stored: Uint8Array | null,
): T | null | undefined {
  if (stored !== null) return decoder(stored);
  return item.fallback === undefined ? null : decoder(item.fallback);
}
