import type { ApiPromise } from '@polkadot/api';
import type { Registry } from '@polkadot/types/types';
import { createAccountNames } from './account-names.ts';
import type { MetagraphSnapshot, Subnet } from './metagraph.ts';
import { readNeurons } from './read-neurons.ts';
import { readSubnetParams } from './read-subnet-params.ts';
import { dueSubnets, type LastRead, type RefreshPolicy } from './refresh-schedule.ts';
import type { StorageRpc } from './storage-fetch.ts';
import { type LayoutResolution, resolveSubtensorLayout } from './subtensor-layout.ts';

export interface ChainHead {
  hash: string;
  block: number;
}

/** The connection as the reader uses it: polkadot-js for the runtime metadata at a block, raw RPC for storage. */
export interface ChainAccess {
  api: ApiPromise;
  rpc: StorageRpc;
}

export type RefreshOutcome =
  | { kind: 'updated'; snapshot: MetagraphSnapshot; readNetuids: number[]; problems: string[] }
  | { kind: 'unchanged'; problems: string[] }
  | { kind: 'failed'; reason: string };

export interface MetagraphReader {
  /** Reads what is due at `head`, every value at that one block hash, so a read never mixes two blocks' state. */
  refresh(chain: ChainAccess, head: ChainHead): Promise<RefreshOutcome>;
}

export interface MetagraphReaderOptions {
  only?: ReadonlySet<number>;
  policy: RefreshPolicy;
  /** A snapshot to build on (from disk): its subnets are served until re-read. */
  initial?: MetagraphSnapshot;
  now?: () => number;
}

const DEFAULT_SS58_FORMAT = 42;

export function createMetagraphReader(options: MetagraphReaderOptions): MetagraphReader {
  const now = options.now ?? Date.now;
  const lastReads = new Map<number, LastRead>();
  const layouts = new WeakMap<Registry, LayoutResolution>();
  let names = createAccountNames(DEFAULT_SS58_FORMAT);
  let subnets = new Map<number, Subnet>(
    (options.initial?.subnets ?? []).map((subnet) => [subnet.netuid, subnet]),
  );

  const layoutAt = async (api: ApiPromise, hash: string): Promise<LayoutResolution> => {
    const { registry } = await api.at(hash);
    let resolution = layouts.get(registry);
    if (!resolution) {
      resolution = resolveSubtensorLayout(registry.metadata, registry.chainSS58 ?? DEFAULT_SS58_FORMAT);
      layouts.set(registry, resolution);
    }
    return resolution;
  };

  const refresh = async ({ api, rpc }: ChainAccess, head: ChainHead): Promise<RefreshOutcome> => {
    const startedAt = now();
    const resolution = await layoutAt(api, head.hash);
    if (!resolution.ok) return { kind: 'failed', reason: resolution.reason };
    const { layout } = resolution;
    if (names.ss58Format !== layout.ss58Format) names = createAccountNames(layout.ss58Format);

    const listed = await readSubnetParams(rpc, layout, head.hash, options.only);
    if (!listed.ok) return { kind: 'failed', reason: listed.reason };
    const due = new Set(
      dueSubnets(listed.value, lastReads, { block: head.block, now: startedAt }, options.policy),
    );
    // A registration or a tempo change makes a subnet due at once: its uid range moved.
    for (const params of listed.value) {
      const known = subnets.get(params.netuid);
      if (!known || known.neuronCount !== params.neuronCount || known.tempo !== params.tempo)
        due.add(params.netuid);
    }
    const listedNetuids = new Set(listed.value.map((params) => params.netuid));
    const removed = [...subnets.keys()].filter((netuid) => !listedNetuids.has(netuid));
    if (due.size === 0 && removed.length === 0) return { kind: 'unchanged', problems: [] };

    const reads = await readNeurons(
      rpc,
      layout,
      head.hash,
      listed.value.filter((p) => due.has(p.netuid)),
      names,
    );
    const problems: string[] = [];
    const readNetuids: number[] = [];
    const next = new Map<number, Subnet>();
    for (const { netuid } of listed.value) {
      const read = reads.get(netuid);
      if (read?.ok) {
        next.set(netuid, read.value.subnet);
        problems.push(...read.value.skipped);
        readNetuids.push(netuid);
        lastReads.set(netuid, { block: head.block, at: startedAt });
        continue;
      }
      if (read) problems.push(read.reason);
      const previous = subnets.get(netuid);
      if (previous) next.set(netuid, previous);
    }
    for (const netuid of removed) lastReads.delete(netuid);
    if (readNetuids.length === 0 && removed.length === 0) return { kind: 'unchanged', problems };
    subnets = next;
    // `block` is the block just read; subnets that were not due keep the values of their own last read.
    return {
      kind: 'updated',
      snapshot: { block: head.block, readAt: startedAt, subnets: [...next.values()] },
      readNetuids,
      problems,
    };
  };

  return {
    async refresh(chain, head) {
      try {
        return await refresh(chain, head);
      } catch (error) {
        return { kind: 'failed', reason: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
