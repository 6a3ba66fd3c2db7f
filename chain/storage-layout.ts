import { Buffer } from 'node:buffer';
import type { PortableRegistry } from '@polkadot/types';
import type { MetadataLatest, StorageEntryMetadataLatest } from '@polkadot/types/interfaces';
import { blake2AsU8a, xxhashAsU8a } from '@polkadot/util-crypto';

/**
 * Where a storage item lives and what it holds, taken from the runtime metadata: the key prefix
 * (twox128(pallet) ++ twox128(item)), the hasher of each key argument, and the structural shape of keys and value.
 */
export interface StorageItem {
  name: string;
  /** Hex, with 0x. */
  prefix: string;
  keyShapes: string[];
  valueShape: string;
  /** The value a `ValueQuery` item reads as when its key is absent; undefined for `OptionQuery`. */
  fallback: Uint8Array | undefined;
  /** The full key for SCALE-encoded arguments, one per key shape. */
  key(...args: Uint8Array[]): string;
}

type HashArgument = (encoded: Uint8Array) => Uint8Array[];

// How each hasher turns an encoded argument into key bytes (frame_support `StorageHasher`); the *Concat ones
// keep the argument after its hash, which is what lets a key be read back.
const HASHERS: Record<string, HashArgument> = {
  Identity: (encoded) => [encoded],
  Blake2_128Concat: (encoded) => [blake2AsU8a(encoded, 128), encoded],
  Twox64Concat: (encoded) => [xxhashAsU8a(encoded, 64), encoded],
  Blake2_128: (encoded) => [blake2AsU8a(encoded, 128)],
  Blake2_256: (encoded) => [blake2AsU8a(encoded, 256)],
  Twox128: (encoded) => [xxhashAsU8a(encoded, 128)],
  Twox256: (encoded) => [xxhashAsU8a(encoded, 256)],
};

const toHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/**
 * A type's structure with names erased: `u16`, `[u8;32]`, `Vec<u16>`, `{block:u64,…}`. Single-field wrappers
 * (`AccountId32`, `NetUid`, `AlphaCurrency`, `PerU16`) are transparent, so renaming a newtype is not a change,
 * but a different layout is.
 */
export function describeShape(lookup: PortableRegistry, typeId: number): string {
  const { def } = lookup.getSiType(typeId);
  if (def.isPrimitive) return def.asPrimitive.type.toLowerCase();
  if (def.isArray)
    return `[${describeShape(lookup, def.asArray.type.toNumber())};${def.asArray.len.toNumber()}]`;
  if (def.isSequence) return `Vec<${describeShape(lookup, def.asSequence.type.toNumber())}>`;
  if (def.isCompact) return `Compact<${describeShape(lookup, def.asCompact.type.toNumber())}>`;
  if (def.isTuple) return `(${def.asTuple.map((id) => describeShape(lookup, id.toNumber())).join(',')})`;
  if (def.isComposite) {
    const fields = def.asComposite.fields;
    const only = fields[0];
    if (fields.length === 1 && only && only.name.isNone) return describeShape(lookup, only.type.toNumber());
    const described = fields.map(
      (field) => `${field.name.unwrapOr('').toString()}:${describeShape(lookup, field.type.toNumber())}`,
    );
    return `{${described.join(',')}}`;
  }
  return `?${def.type}`;
}

/** The storage item `pallet.item` as this metadata declares it, or undefined when the runtime has no such item. */
export function findStorageItem(
  metadata: MetadataLatest,
  pallet: string,
  item: string,
): StorageItem | undefined {
  const palletMeta = metadata.pallets.find((candidate) => candidate.name.toString() === pallet);
  const storage = palletMeta?.storage.unwrapOr(undefined);
  const entry = storage?.items.find((candidate) => candidate.name.toString() === item);
  if (!storage || !entry) return undefined;
  const prefix = `0x${toHex(xxhashAsU8a(storage.prefix.toString(), 128))}${toHex(xxhashAsU8a(item, 128))}`;
  return describeItem(metadata.lookup, item, prefix, entry);
}

function describeItem(
  lookup: PortableRegistry,
  name: string,
  prefix: string,
  entry: StorageEntryMetadataLatest,
): StorageItem {
  const fallback = entry.modifier.isDefault ? entry.fallback.toU8a(true) : undefined;
  if (entry.type.isPlain) {
    const valueShape = describeShape(lookup, entry.type.asPlain.toNumber());
    return { name, prefix, keyShapes: [], valueShape, fallback, key: () => prefix };
  }
  const map = entry.type.asMap;
  const hashers = map.hashers.map((hasher) => HASHERS[hasher.type]);
  const keyType = lookup.getSiType(map.key).def;
  // A map with several hashers keys by a tuple, one element per hasher.
  const keyIds =
    hashers.length > 1 && keyType.isTuple ? keyType.asTuple.map((id) => id.toNumber()) : [map.key.toNumber()];
  const keyShapes = hashers.every(Boolean) ? keyIds.map((id) => describeShape(lookup, id)) : ['?hasher'];
  const key = (...args: Uint8Array[]): string => {
    if (args.length !== hashers.length) throw new Error(`${name} takes ${hashers.length} key arguments`);
    let hex = prefix;
    for (const [index, arg] of args.entries()) {
      const hash = hashers[index];
      if (!hash) throw new Error(`${name} uses a hasher this reader does not know`);
      for (const part of hash(arg)) hex += toHex(part);
    }
    return hex;
  };
  return { name, prefix, keyShapes, valueShape: describeShape(lookup, map.value.toNumber()), fallback, key };
}
