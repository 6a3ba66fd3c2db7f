import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { z } from 'zod';
import type { Block, BlockChain } from './block-chain.ts';
import type { ChainRuntime } from './chain-runtime.ts';
import { JsonRpcError, type MethodHandler, type SubscriptionKind } from './json-rpc-server.ts';
import type { TransferPool } from './transfer-pool.ts';

/** The subset of a Substrate node's JSON-RPC that `@polkadot/api` uses to connect and read storage. */
export interface SubstrateNode {
  runtime: ChainRuntime;
  chain: BlockChain;
  transfers: TransferPool;
}

/** What subscriptions react to: a new best block, and the one it replaced. */
export interface NewBlock {
  block: Block;
  previous: Block;
}

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/);
const optionalHash = hex.nullish();
const blockNumber = z.union([
  z.number().int().nonnegative(),
  hex.transform((value) => Number.parseInt(value, 16)),
]);

function parse<T>(schema: z.ZodType<T>, params: readonly unknown[]): T {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new JsonRpcError(-32602, `Invalid params: ${parsed.error.message}`);
  return parsed.data;
}

function blockAt(chain: BlockChain, hash: string | null | undefined): Block {
  if (hash === null || hash === undefined) return chain.best();
  const block = chain.byHash(hash);
  // Substrate answers a pruned or unknown hash with a client error (code 4003) rather than a null.
  if (!block) throw new JsonRpcError(4003, `Client error: UnknownBlock: State already discarded for ${hash}`);
  return block;
}

/** polkadot-js asks the runtime for its newest metadata through these two calls before `state_getMetadata`. */
function metadataCall(runtime: ChainRuntime, method: string, data: string): string {
  const supported = runtime.registry.createType('u32', runtime.metadataVersion);
  if (method === 'Metadata_metadata_versions') {
    return runtime.registry.createType('Vec<u32>', [supported]).toHex();
  }
  if (method === 'Metadata_metadata_at_version') {
    // SCALE bytes, not a number: a hex string would be read big-endian by createType.
    const asked = runtime.registry.createType('u32', hexToU8a(data));
    if (!asked.eq(supported)) return '0x00';
    const bytes = runtime.registry.createType('Bytes', runtime.metadataHex).toU8a();
    return u8aToHex(u8aConcat([1], bytes));
  }
  throw new JsonRpcError(-32000, `Runtime call ${method} is not served by the localnet node`);
}

export function substrateMethods({
  runtime,
  chain,
  transfers,
}: SubstrateNode): Record<string, MethodHandler> {
  const getStorage: MethodHandler = (params) => {
    const [key, at] = parse(z.tuple([hex, optionalHash]).rest(z.unknown()), params);
    return blockAt(chain, at).state.get(key.toLowerCase()) ?? null;
  };
  const getKeysPaged: MethodHandler = (params) => {
    const [prefix, count, startKey, at] = parse(
      z.tuple([hex, z.number().int().min(0).max(1000), hex.nullish(), optionalHash]).rest(z.unknown()),
      params,
    );
    return blockAt(chain, at).state.keysPaged(
      prefix.toLowerCase(),
      count,
      startKey?.toLowerCase() ?? undefined,
    );
  };
  const getHeader: MethodHandler = (params) => {
    const [hash] = parse(z.tuple([optionalHash]).rest(z.unknown()), params);
    return hash ? (chain.byHash(hash)?.header ?? null) : chain.best().header;
  };
  const getRuntimeVersion: MethodHandler = (params) => {
    const [at] = parse(z.tuple([optionalHash]).rest(z.unknown()), params);
    blockAt(chain, at);
    return runtime.runtimeVersion;
  };
  const getFinalizedHead: MethodHandler = () => chain.finalized().hash;

  return {
    system_chain: () => runtime.chainName,
    system_name: () => 'Subtensor Node',
    system_version: () => `localnet-${runtime.runtimeVersion.specVersion}`,
    system_chainType: () => 'Development',
    system_properties: () => runtime.properties,
    system_health: () => ({ peers: 0, isSyncing: false, shouldHavePeers: false }),
    chain_getBlockHash: (params) => {
      const [wanted] = parse(z.tuple([blockNumber.nullish()]).rest(z.unknown()), params);
      return wanted === null || wanted === undefined
        ? chain.best().hash
        : (chain.byNumber(wanted)?.hash ?? null);
    },
    chain_getHeader: getHeader,
    chain_getBlock: (params) => {
      const [hash] = parse(z.tuple([optionalHash]).rest(z.unknown()), params);
      const block = hash ? chain.byHash(hash) : chain.best();
      return block
        ? { block: { header: block.header, extrinsics: block.extrinsics }, justifications: null }
        : null;
    },
    chain_getFinalizedHead: getFinalizedHead,
    chain_getFinalisedHead: getFinalizedHead,
    state_getRuntimeVersion: getRuntimeVersion,
    chain_getRuntimeVersion: getRuntimeVersion,
    state_getMetadata: (params) => {
      const [at] = parse(z.tuple([optionalHash]).rest(z.unknown()), params);
      blockAt(chain, at);
      return runtime.metadataHex;
    },
    state_getStorage: getStorage,
    state_getStorageAt: getStorage,
    state_getKeysPaged: getKeysPaged,
    state_getKeysPagedAt: getKeysPaged,
    state_queryStorageAt: (params) => {
      const [keys, at] = parse(z.tuple([z.array(hex), optionalHash]).rest(z.unknown()), params);
      const block = blockAt(chain, at);
      const changes = keys.map((key) => [key, block.state.get(key.toLowerCase()) ?? null]);
      return [{ block: block.hash, changes }];
    },
    author_submitExtrinsic: (params) => {
      const [extrinsic] = parse(z.tuple([hex]).rest(z.unknown()), params);
      return transfers.submit(extrinsic);
    },
    author_pendingExtrinsics: () => transfers.pending(),
    system_accountNextIndex: (params) => {
      const [address] = parse(z.tuple([z.string()]).rest(z.unknown()), params);
      try {
        return transfers.nextNonce(address);
      } catch {
        throw new JsonRpcError(-32602, `Invalid params: ${address} is not an ss58 address`);
      }
    },
    state_call: (params) => {
      const [method, data, at] = parse(z.tuple([z.string(), hex, optionalHash]).rest(z.unknown()), params);
      blockAt(chain, at);
      return metadataCall(runtime, method, data);
    },
  };
}

export function substrateSubscriptions({
  runtime,
  chain,
  transfers,
}: SubstrateNode): Record<string, SubscriptionKind<NewBlock>> {
  const newHeads: SubscriptionKind<NewBlock> = {
    notification: 'chain_newHead',
    unsubscribe: ['chain_unsubscribeNewHead', 'chain_unsubscribeNewHeads'],
    start: () => ({ initial: () => chain.best().header, onEvent: ({ block }) => block.header }),
  };
  const allHeads: SubscriptionKind<NewBlock> = {
    notification: 'chain_allHead',
    unsubscribe: ['chain_unsubscribeAllHeads'],
    start: () => ({ initial: () => chain.best().header, onEvent: ({ block }) => block.header }),
  };
  const finalizedHeads: SubscriptionKind<NewBlock> = {
    notification: 'chain_finalizedHead',
    unsubscribe: ['chain_unsubscribeFinalizedHeads', 'chain_unsubscribeFinalisedHeads'],
    start: () => {
      let last = chain.finalized();
      return {
        initial: () => last.header,
        onEvent: () => {
          const next = chain.finalized();
          if (next === last) return undefined;
          last = next;
          return next.header;
        },
      };
    },
  };
  const runtimeVersion: SubscriptionKind<NewBlock> = {
    notification: 'state_runtimeVersion',
    unsubscribe: ['state_unsubscribeRuntimeVersion', 'chain_unsubscribeRuntimeVersion'],
    // The localnet never upgrades its runtime, so only the first notification is ever sent.
    start: () => ({ initial: () => runtime.runtimeVersion, onEvent: () => undefined }),
  };
  const storage: SubscriptionKind<NewBlock> = {
    notification: 'state_storage',
    unsubscribe: ['state_unsubscribeStorage'],
    start: (params) => {
      const [keys] = parse(z.tuple([z.array(hex).nullish()]).rest(z.unknown()), params);
      const watched = (keys ?? []).map((key) => key.toLowerCase());
      return {
        initial: () => {
          const block = chain.best();
          return { block: block.hash, changes: watched.map((key) => [key, block.state.get(key) ?? null]) };
        },
        onEvent: ({ block, previous }) => {
          if (block.state === previous.state) return undefined;
          const changed = watched.filter((key) => block.state.get(key) !== previous.state.get(key));
          if (changed.length === 0) return undefined;
          return { block: block.hash, changes: changed.map((key) => [key, block.state.get(key) ?? null]) };
        },
      };
    },
  };
  // A submitted extrinsic's life as a node reports it: ready, in a block, then finalized (and no more).
  const watchExtrinsic: SubscriptionKind<NewBlock> = {
    notification: 'author_extrinsicUpdate',
    unsubscribe: ['author_unwatchExtrinsic'],
    start: (params) => {
      const [extrinsic] = parse(z.tuple([hex]).rest(z.unknown()), params);
      const hash = transfers.submit(extrinsic);
      let included: Block | undefined;
      let finalized = false;
      return {
        initial: () => 'ready',
        onEvent: ({ block }) => {
          if (!included && block.extrinsicHashes.includes(hash)) {
            included = block;
            return { inBlock: block.hash };
          }
          if (included && !finalized && chain.finalized().number >= included.number) {
            finalized = true;
            return { finalized: included.hash };
          }
          return undefined;
        },
      };
    },
  };
  return {
    author_submitAndWatchExtrinsic: watchExtrinsic,
    chain_subscribeNewHead: newHeads,
    chain_subscribeNewHeads: newHeads,
    chain_subscribeAllHeads: allHeads,
    chain_subscribeFinalizedHeads: finalizedHeads,
    chain_subscribeFinalisedHeads: finalizedHeads,
    state_subscribeRuntimeVersion: runtimeVersion,
    chain_subscribeRuntimeVersion: runtimeVersion,
    state_subscribeStorage: storage,
  };
}
