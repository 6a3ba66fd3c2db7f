import { describe, expect, it } from 'vitest';
import { loadChainRuntime } from '../localnet/chain/index.ts';
import { encodeU16 } from './scale-codec.ts';
import { describeShape, findStorageItem } from './storage-layout.ts';
import { resolveSubtensorLayout } from './subtensor-layout.ts';

describe('Subtensor storage layout from runtime metadata (finney spec 393)', () => {
  const runtime = loadChainRuntime();
  const metadata = runtime.registry.metadata;

  it('finds every item the reader uses, with dTAO alpha stake', () => {
    const resolution = resolveSubtensorLayout(metadata, 42);
    expect(resolution.ok).toBe(true);
    if (!resolution.ok) return;
    expect(resolution.layout.stake.model).toBe('alpha');
    for (const name of [
      'Incentive',
      'Trust',
      'Consensus',
      'Dividends',
      'ValidatorPermit',
      'LastUpdate',
      'Axons',
    ] as const) {
      expect(resolution.layout[name], name).toBeDefined();
    }
  });

  it('builds the same storage keys as polkadot-js', () => {
    const hotkey = new Uint8Array(32).fill(9);
    const keys = findStorageItem(metadata, 'SubtensorModule', 'Keys')!;
    const axons = findStorageItem(metadata, 'SubtensorModule', 'Axons')!;
    const alpha = findStorageItem(metadata, 'SubtensorModule', 'TotalHotkeyAlpha')!;
    expect(keys.key(encodeU16(3), encodeU16(17))).toBe(runtime.storageKey('SubtensorModule', 'Keys', 3, 17));
    expect(axons.key(encodeU16(3), hotkey)).toBe(runtime.storageKey('SubtensorModule', 'Axons', 3, hotkey));
    expect(alpha.key(hotkey, encodeU16(3))).toBe(
      runtime.storageKey('SubtensorModule', 'TotalHotkeyAlpha', hotkey, 3),
    );
  });

  it('describes types by structure, so newtype wrappers are transparent', () => {
    const axons = findStorageItem(metadata, 'SubtensorModule', 'Axons')!;
    expect(axons.keyShapes).toEqual(['u16', '[u8;32]']);
    expect(axons.valueShape).toBe(
      '{block:u64,version:u32,ip:u128,port:u16,ip_type:u8,protocol:u8,placeholder1:u8,placeholder2:u8}',
    );
    const owner = metadata.pallets.find((pallet) => pallet.name.toString() === 'SubtensorModule')!;
    const ownerItem = owner.storage.unwrap().items.find((item) => item.name.toString() === 'Owner')!;
    expect(describeShape(metadata.lookup, ownerItem.type.asMap.value.toNumber())).toBe('[u8;32]');
  });
});
