import type { AccountNames } from './account-names.ts';
import {
  assembleSubnet,
  type NeuronRow,
  type SubnetAssembly,
  type SubnetColumns,
  type SubnetParams,
} from './assemble-subnet.ts';
import type { Read } from './read-subnet-params.ts';
import { encodeU16 } from './scale-codec.ts';
import { queryStorageAt, type StorageRpc } from './storage-fetch.ts';
import type { SubtensorLayout, TypedItem } from './subtensor-layout.ts';

const VECTORS = ['Incentive', 'Trust', 'Consensus', 'Dividends', 'ValidatorPermit', 'LastUpdate'] as const;

interface Registered {
  uid: number;
  hotkey: Uint8Array;
  ownerKey: string;
  stakeKey: string;
  axonKey: string | undefined;
}

/**
 * The neurons of several subnets in two batches, whatever their number: first the per-subnet vectors and `Keys`
 * for every uid, then `Owner`, stake and `Axons` for every hotkey found. All reads are at block `at`.
 */
export async function readNeurons(
  rpc: StorageRpc,
  layout: SubtensorLayout,
  at: string,
  subnets: readonly SubnetParams[],
  names: AccountNames,
): Promise<Map<number, Read<SubnetAssembly>>> {
  const { Keys, Owner, Axons } = layout;
  const uidKeys = new Map<number, string[]>();
  const firstBatch: string[] = [];
  for (const { netuid, neuronCount } of subnets) {
    const netuidArg = encodeU16(netuid);
    for (const name of VECTORS) {
      const item = layout[name]?.item;
      if (item) firstBatch.push(item.key(netuidArg));
    }
    const keys = Array.from({ length: neuronCount }, (_, uid) => Keys.item.key(netuidArg, encodeU16(uid)));
    uidKeys.set(netuid, keys);
    firstBatch.push(...keys);
  }
  const first = await queryStorageAt(rpc, firstBatch, at);

  const registeredBySubnet = new Map<number, Registered[]>();
  const secondBatch = new Set<string>();
  for (const { netuid } of subnets) {
    const netuidArg = encodeU16(netuid);
    const registered: Registered[] = [];
    (uidKeys.get(netuid) ?? []).forEach((key, uid) => {
      const hotkey = Keys.decode(first.get(key) ?? null);
      // A uid without a hotkey reads as the all-zero default account: not a neuron.
      if (!hotkey || isZero(hotkey)) return;
      const neuron = {
        uid,
        hotkey,
        ownerKey: Owner.item.key(hotkey),
        stakeKey: stakeKey(layout, hotkey, netuidArg),
        axonKey: Axons?.item.key(netuidArg, hotkey),
      };
      registered.push(neuron);
      secondBatch.add(neuron.ownerKey).add(neuron.stakeKey);
      if (neuron.axonKey) secondBatch.add(neuron.axonKey);
    });
    registeredBySubnet.set(netuid, registered);
  }
  const second = await queryStorageAt(rpc, [...secondBatch], at);

  const results = new Map<number, Read<SubnetAssembly>>();
  for (const params of subnets) {
    const netuidArg = encodeU16(params.netuid);
    let malformed: string | undefined;
    const vector = <T>(name: string, typed: TypedItem<T[]> | undefined): T[] | null => {
      const value = typed ? typed.decode(first.get(typed.item.key(netuidArg)) ?? null) : null;
      if (value === undefined) malformed ??= name;
      return value ?? null;
    };
    const columns: SubnetColumns = {
      incentive: vector('Incentive', layout.Incentive),
      trust: vector('Trust', layout.Trust),
      consensus: vector('Consensus', layout.Consensus),
      dividends: vector('Dividends', layout.Dividends),
      validatorPermit: vector('ValidatorPermit', layout.ValidatorPermit),
      lastUpdate: vector('LastUpdate', layout.LastUpdate),
    };
    if (malformed) {
      results.set(params.netuid, { ok: false, reason: `subnet ${params.netuid}: ${malformed} is malformed` });
      continue;
    }
    const stored = (key: string): Uint8Array | null => second.get(key) ?? null;
    const rows = (registeredBySubnet.get(params.netuid) ?? []).map((neuron): NeuronRow => {
      const coldkey = Owner.decode(stored(neuron.ownerKey));
      return {
        uid: neuron.uid,
        hotkey: names.ss58(neuron.hotkey),
        coldkey: coldkey && !isZero(coldkey) ? names.ss58(coldkey) : undefined,
        stakeUnits: stakeValue(layout, stored(neuron.stakeKey)) ?? undefined,
        axon: Axons && neuron.axonKey ? Axons.decode(stored(neuron.axonKey)) : null,
      };
    });
    results.set(params.netuid, { ok: true, value: assembleSubnet(params, columns, rows) });
  }
  return results;
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

function stakeKey(layout: SubtensorLayout, hotkey: Uint8Array, netuidArg: Uint8Array): string {
  const { stake } = layout;
  return stake.model === 'alpha'
    ? stake.totalHotkeyAlpha.item.key(hotkey, netuidArg)
    : stake.totalHotkeyStake.item.key(hotkey);
}

function stakeValue(layout: SubtensorLayout, stored: Uint8Array | null): bigint | null | undefined {
  const { stake } = layout;
  return stake.model === 'alpha'
    ? stake.totalHotkeyAlpha.decode(stored)
    : stake.totalHotkeyStake.decode(stored);
}
