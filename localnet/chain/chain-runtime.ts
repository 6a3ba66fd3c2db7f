import { readFileSync } from 'node:fs';
import { expandMetadata, Metadata, TypeRegistry, unwrapStorageType } from '@polkadot/types';
import type { StorageEntry } from '@polkadot/types/primitive/types';
import { compactStripLength, isHex, stringCamelCase, u8aToHex } from '@polkadot/util';
import { z } from 'zod';

/** The runtime the localnet node pretends to run: real finney metadata, so every key and value is the real shape. */
export interface ChainRuntime {
  registry: TypeRegistry;
  metadataHex: `0x${string}`;
  /** 14, 15 or 16: the only version `Metadata_metadata_at_version` can answer with. */
  metadataVersion: number;
  runtimeVersion: RuntimeVersionJson;
  chainName: string;
  properties: { ss58Format: number; tokenDecimals: number; tokenSymbol: string };
  /** The storage key of `pallet.item(...args)`, e.g. `storageKey('SubtensorModule', 'Keys', netuid, uid)`. */
  storageKey(pallet: string, item: string, ...args: unknown[]): string;
  /** The SCALE value of a storage item, encoded with the item's type from the metadata. */
  encodeValue(pallet: string, item: string, value: unknown): string;
}

const runtimeVersionSchema = z.object({
  specName: z.string(),
  implName: z.string(),
  authoringVersion: z.number(),
  specVersion: z.number(),
  implVersion: z.number(),
  apis: z.array(z.tuple([z.string(), z.number()])),
  transactionVersion: z.number(),
  stateVersion: z.number(),
});
export type RuntimeVersionJson = z.infer<typeof runtimeVersionSchema>;

const fixtureSchema = z.object({
  source: z.string(),
  chainName: z.string(),
  metadata: z.string().refine(isHex, 'metadata must be hex'),
  runtimeVersion: runtimeVersionSchema,
  ss58Format: z.number(),
  tokenDecimals: z.number(),
  tokenSymbol: z.string(),
});

export const DEFAULT_METADATA_PATH = new URL('../metadata/subtensor-finney-spec393.json', import.meta.url);

const loaded = new Map<string, ChainRuntime>();

/** Decoding 600 kB of metadata takes ~100 ms, so each fixture is decoded once per process. */
export function loadChainRuntime(path: URL | string = DEFAULT_METADATA_PATH): ChainRuntime {
  const cacheKey = String(path);
  const cached = loaded.get(cacheKey);
  if (cached) return cached;
  const runtime = decodeFixture(fixtureSchema.parse(JSON.parse(readFileSync(path, 'utf8'))));
  loaded.set(cacheKey, runtime);
  return runtime;
}

function decodeFixture(fixture: z.infer<typeof fixtureSchema>): ChainRuntime {
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, fixture.metadata);
  registry.setMetadata(metadata, undefined, undefined, true);
  const storage = expandMetadata(registry, metadata).query;
  const valueTypes = new Map<StorageEntry, string>();

  const entry = (pallet: string, item: string): StorageEntry => {
    const found = storage[stringCamelCase(pallet)]?.[stringCamelCase(item)];
    if (!found) throw new Error(`metadata has no storage item ${pallet}.${item}`);
    return found;
  };

  return {
    registry,
    metadataHex: fixture.metadata,
    metadataVersion: metadata.version,
    runtimeVersion: fixture.runtimeVersion,
    chainName: fixture.chainName,
    properties: {
      ss58Format: fixture.ss58Format,
      tokenDecimals: fixture.tokenDecimals,
      tokenSymbol: fixture.tokenSymbol,
    },
    storageKey(pallet, item, ...args) {
      // polkadot-js hands the key back as length-prefixed Bytes; nodes key storage by the bare bytes.
      return u8aToHex(compactStripLength(entry(pallet, item)(...args))[1]);
    },
    encodeValue(pallet, item, value) {
      const found = entry(pallet, item);
      let type = valueTypes.get(found);
      if (!type) {
        type = unwrapStorageType(registry, found.meta.type);
        valueTypes.set(found, type);
      }
      // Not `.toHex()`: integers render that big-endian for display; storage holds the SCALE (little-endian) bytes.
      return u8aToHex(registry.createTypeUnsafe(type, [value]).toU8a());
    },
  };
}
