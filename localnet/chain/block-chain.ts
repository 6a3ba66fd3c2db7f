import type { TypeRegistry } from '@polkadot/types';
import type { Header } from '@polkadot/types/interfaces';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import type { StorageState } from './storage-state.ts';

/** A header as Substrate nodes send it over JSON-RPC: number as hex, digest logs as SCALE hex. */
export interface HeaderJson {
  parentHash: string;
  number: string;
  stateRoot: string;
  extrinsicsRoot: string;
  digest: { logs: string[] };
}

export interface Block {
  number: number;
  hash: string;
  header: HeaderJson;
  state: StorageState;
  /** SCALE hex of the block's extrinsics, and their hashes (blake2_256 of those bytes). */
  extrinsics: readonly string[];
  extrinsicHashes: readonly string[];
}

export interface BlockChain {
  readonly genesis: Block;
  best(): Block;
  /** Aura/GRANDPA finality lags the head; two blocks is enough to make the difference visible. */
  finalized(): Block;
  byHash(hash: string): Block | undefined;
  byNumber(blockNumber: number): Block | undefined;
  /** Appends a block on top of the best one, carrying `state` and the extrinsics applied in it. */
  produce(state: StorageState, extrinsics?: { hex: readonly string[]; hashes: readonly string[] }): Block;
  /**
   * A re-org as clients see one: the newest `depth` blocks are replaced by as many others at the same heights
   * (other hashes) carrying the same state and extrinsics, as when a fork's blocks include the same
   * transactions. Returns the new blocks, oldest first. Any depth is allowed, finalized or not: it is for tests.
   */
  reorg(depth: number): Block[];
}

const FINALITY_LAG = 2;
const AURA_ENGINE = '0x61757261';
// A substrate block with no extrinsics has the empty trie root, blake2_256(0x00), as its extrinsics root.
const EMPTY_TRIE_ROOT = blake2AsHex(new Uint8Array([0]));

/**
 * Keeps the recent history like a pruning node: older blocks (and their state) are forgotten, and asking for
 * them answers "unknown block". Genesis is always kept because clients look it up by number 0.
 */
export function createBlockChain(
  registry: TypeRegistry,
  initialState: StorageState,
  retain = 1024,
): BlockChain {
  const byHash = new Map<string, Block>();
  const byNumber = new Map<number, Block>();
  let forks = 0;

  const makeBlock = (
    blockNumber: number,
    parentHash: string,
    state: StorageState,
    extrinsics = { hex: [] as readonly string[], hashes: [] as readonly string[] },
    fork = 0,
  ): Block => {
    // Aura's pre-runtime digest carries the slot as a little-endian u64; here the slot is the block number
    // (plus the fork's number in the high bits, so a fork's block at the same height hashes differently).
    const slot = new Uint8Array(8);
    new DataView(slot.buffer).setBigUint64(0, BigInt(blockNumber) + (BigInt(fork) << 32n), true);
    const header = registry.createType<Header>('Header', {
      parentHash,
      number: blockNumber,
      // Not a trie root: nothing here checks proofs, but a changed state still shows up as a changed root.
      stateRoot: blake2AsHex(`localnet-state-${state.generation}`),
      // Not a trie root either, but it commits to the extrinsics, so blocks with different ones differ.
      extrinsicsRoot: extrinsics.hex.length === 0 ? EMPTY_TRIE_ROOT : blake2AsHex(extrinsics.hashes.join('')),
      digest: { logs: [{ PreRuntime: [AURA_ENGINE, u8aToHex(slot)] }] },
    });
    const block: Block = {
      number: blockNumber,
      hash: header.hash.toHex(),
      header: {
        parentHash,
        number: `0x${blockNumber.toString(16)}`,
        stateRoot: header.stateRoot.toHex(),
        extrinsicsRoot: header.extrinsicsRoot.toHex(),
        digest: { logs: header.digest.logs.map((log) => log.toHex()) },
      },
      state,
      extrinsics: extrinsics.hex,
      extrinsicHashes: extrinsics.hashes,
    };
    byHash.set(block.hash, block);
    byNumber.set(blockNumber, block);
    return block;
  };

  const genesis = makeBlock(0, `0x${'00'.repeat(32)}`, initialState);
  let best = genesis;

  return {
    genesis,
    best: () => best,
    finalized: () => byNumber.get(Math.max(0, best.number - FINALITY_LAG)) ?? genesis,
    byHash: (hash) => byHash.get(hash.toLowerCase()),
    byNumber: (blockNumber) => byNumber.get(blockNumber),
    produce(state, extrinsics) {
      best = makeBlock(best.number + 1, best.hash, state, extrinsics);
      const forgotten = byNumber.get(best.number - retain);
      if (forgotten && forgotten !== genesis) {
        byNumber.delete(forgotten.number);
        byHash.delete(forgotten.hash);
      }
      return best;
    },
    reorg(depth) {
      const dropped: Block[] = [];
      while (dropped.length < depth && best !== genesis) {
        dropped.unshift(best);
        byHash.delete(best.hash);
        byNumber.delete(best.number);
        best = byHash.get(best.header.parentHash) ?? genesis;
      }
      forks++;
      return dropped.map((old) => {
        const extrinsics = { hex: old.extrinsics, hashes: old.extrinsicHashes };
        best = makeBlock(old.number, best.hash, old.state, extrinsics, forks);
        return best;
      });
    },
  };
}
