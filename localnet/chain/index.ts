import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { Subnet } from '../../chain/index.ts';
import { createBlockChain } from './block-chain.ts';
import { loadChainRuntime } from './chain-runtime.ts';
import { type JsonRpcServer, startJsonRpcServer } from './json-rpc-server.ts';
import { createStorageState, layerStorageState, type StorageState } from './storage-state.ts';
import { buildSubnetStorage, type SubnetStorageOptions } from './subnet-storage.ts';
import { type NewBlock, substrateMethods, substrateSubscriptions } from './substrate-methods.ts';
import { createTransferPool } from './transfer-pool.ts';

export interface ChainNodeOptions {
  subnets: readonly Subnet[];
  /** Block time; finney's is 12 000 ms. 0 seals blocks only on `produceBlock()`. Default 1000. */
  blockMs?: number;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** TAO per alpha on non-root subnets. Default 1. */
  alphaPrice?: number;
  /** How many recent blocks keep their state, like a pruning node. Default 1024. */
  retainBlocks?: number;
}

export interface ChainNode {
  /** `ws://127.0.0.1:<port>`; stays the same across stop/start listening. */
  readonly url: string;
  bestBlock(): number;
  /** Replaces the chain state; it becomes visible in the next block. */
  setSubnets(subnets: readonly Subnet[]): void;
  /** Seals a block now and returns its number. */
  produceBlock(): number;
  /** Replaces the newest `depth` blocks with a fork carrying the same transactions (see BlockChain.reorg). */
  reorg(depth: number): void;
  /** Drops every client connection, as a node restart would. */
  disconnectAll(): void;
  /** Refuses connections (dropping current ones) until `startListening()`; blocks keep coming. */
  stopListening(): Promise<void>;
  startListening(): Promise<void>;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * A Substrate JSON-RPC node that serves real Subtensor metadata and storage for the given subnets, so the
 * production chain reader (`chain/`) runs unchanged against it.
 */
export async function startChainNode(options: ChainNodeOptions): Promise<ChainNode> {
  // Hashing every storage key in wasm rather than JS makes building a 64×256 state several times faster.
  await cryptoWaitReady();
  const runtime = loadChainRuntime();
  const storageOptions: SubnetStorageOptions = { alphaPrice: options.alphaPrice ?? 1 };
  const stateOf = (subnets: readonly Subnet[]) =>
    createStorageState(buildSubnetStorage(runtime, subnets, storageOptions));

  let nextState = stateOf(options.subnets);
  const chain = createBlockChain(runtime.registry, nextState, options.retainBlocks);
  chain.produce(nextState);
  const transfers = createTransferPool(runtime);
  const node = { runtime, chain, transfers };
  // Balances and events lie over the subnets' storage; a block that changes neither keeps its parent's state.
  let transferStorage: Map<string, string> | undefined;
  let layeredBase: StorageState | undefined;
  let layered: StorageState = nextState;
  const server: JsonRpcServer<NewBlock> = await startJsonRpcServer<NewBlock>({
    host: HOST,
    port: options.port ?? 0,
    methods: {
      ...substrateMethods(node),
      rpc_methods: () => ({ version: 1, methods: server.methodNames }),
    },
    subscriptions: substrateSubscriptions(node),
  });

  const produceBlock = (): number => {
    const previous = chain.best();
    const sealed = transfers.seal();
    if (sealed.storage) transferStorage = sealed.storage;
    if (!transferStorage) layered = nextState;
    else if (sealed.storage || layeredBase !== nextState)
      layered = layerStorageState(nextState, transferStorage);
    layeredBase = nextState;
    const block = chain.produce(layered, { hex: sealed.extrinsics, hashes: sealed.extrinsicHashes });
    server.publish({ block, previous });
    return block.number;
  };

  const blockMs = options.blockMs ?? 1000;
  const timer = blockMs > 0 ? setInterval(produceBlock, blockMs) : undefined;

  return {
    url: `ws://${HOST}:${server.port}`,
    bestBlock: () => chain.best().number,
    setSubnets(subnets) {
      nextState = stateOf(subnets);
    },
    produceBlock,
    reorg(depth) {
      let previous = chain.best();
      for (const block of chain.reorg(depth)) {
        server.publish({ block, previous });
        previous = block;
      }
    },
    disconnectAll: () => server.disconnectAll(),
    stopListening: () => server.stopListening(),
    startListening: () => server.startListening(),
    async close() {
      clearInterval(timer);
      await server.close();
    },
  };
}

export { type ChainRuntime, loadChainRuntime } from './chain-runtime.ts';
export { readChainUrlFile, removeChainUrlFile, writeChainUrlFile } from './chain-url-file.ts';
export { type SampleSubnetsOptions, sampleAccount, sampleSubnets } from './sample-subnets.ts';
