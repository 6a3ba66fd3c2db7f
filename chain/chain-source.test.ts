import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChainNode, sampleSubnets, startChainNode } from '../localnet/chain/index.ts';
import {
  ChainSourceClosed,
  createChainSource,
  type MetagraphSnapshot,
  type MetagraphSource,
  type Subnet,
} from './index.ts';

const FAST_RECONNECT = { initialMs: 20, maxMs: 100 };

/** Resolves with the first snapshot (current or coming) that satisfies `predicate`. */
function snapshotWhere(source: MetagraphSource, predicate: (snapshot: MetagraphSnapshot) => boolean) {
  const now = source.current();
  if (now && predicate(now)) return Promise.resolve(now);
  return new Promise<MetagraphSnapshot>((resolve) => {
    const stop = source.onUpdate((snapshot) => {
      if (!predicate(snapshot)) return;
      stop();
      resolve(snapshot);
    });
  });
}

const incentiveOf = (snapshot: MetagraphSnapshot, netuid: number, uid: number) =>
  snapshot.subnets.find((subnet) => subnet.netuid === netuid)?.neurons.find((neuron) => neuron.uid === uid)
    ?.incentive;

function withIncentive(subnets: Subnet[], netuid: number, uid: number, incentive: number): Subnet[] {
  return subnets.map((subnet) =>
    subnet.netuid !== netuid
      ? subnet
      : { ...subnet, neurons: subnet.neurons.map((n) => (n.uid === uid ? { ...n, incentive } : n)) },
  );
}

describe('chain metagraph source, against the localnet Subtensor node', () => {
  const subnets = sampleSubnets({ netuids: [0, 1, 7], neuronsPerSubnet: 16, tempo: 5 });
  const cleanups: (() => Promise<unknown>)[] = [];
  const startNode = async (): Promise<ChainNode> => {
    // Blocks only on produceBlock(): every change in these tests happens on a block the test chose.
    const node = await startChainNode({ subnets, blockMs: 0, alphaPrice: 0.5 });
    cleanups.push(() => node.close());
    return node;
  };
  const startSource = (options: Parameters<typeof createChainSource>[0]): MetagraphSource => {
    const source = createChainSource({ reconnectBackoff: FAST_RECONNECT, ...options });
    cleanups.unshift(() => source.close());
    return source;
  };
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('reads every subnet and neuron exactly as they are on chain', async () => {
    const node = await startNode();
    const snapshot = await startSource({ url: node.url }).ready();
    expect(snapshot.block).toBe(node.bestBlock());
    // Stake went on chain as alpha at 0.5 TAO per alpha (1:1 on root) and comes back valued in TAO.
    expect(snapshot.subnets).toEqual(subnets);
  });

  it('reads only the configured subnets', async () => {
    const node = await startNode();
    const snapshot = await startSource({ url: node.url, netuids: [7, 42] }).ready();
    expect(snapshot.subnets.map((subnet) => subnet.netuid)).toEqual([7]);
  });

  it('shows a changed incentive in a later snapshot', async () => {
    const node = await startNode();
    const source = startSource({ url: node.url, refreshMs: 0 });
    const first = await source.ready();
    node.setSubnets(withIncentive(subnets, 1, 3, 1));
    const changedAt = node.produceBlock();
    const later = await snapshotWhere(source, (snapshot) => incentiveOf(snapshot, 1, 3) === 1);
    expect(later.block).toBe(changedAt);
    expect(incentiveOf(first, 1, 3)).not.toBe(1);
  });

  it('drops a subnet that leaves the chain, and serves an axon at 0.0.0.0 as no axon', async () => {
    const node = await startNode();
    const source = startSource({ url: node.url, refreshMs: 0 });
    await source.ready();
    const [root, first] = subnets;
    const unserved = {
      ...first!,
      neurons: first!.neurons.map((n) =>
        n.uid === 0 && n.axon ? { ...n, axon: { ...n.axon, ip: '0.0.0.0' } } : n,
      ),
    };
    node.setSubnets([root!, unserved]);
    node.produceBlock();
    const later = await snapshotWhere(source, (snapshot) => snapshot.subnets.length === 2);
    expect(later.subnets.map((subnet) => subnet.netuid)).toEqual([0, 1]);
    expect(later.subnets[1]?.neurons[0]?.axon).toBeNull();
  });

  it('keeps serving the last snapshot while the node is down, and reads again once it is back', async () => {
    const node = await startNode();
    const source = startSource({ url: node.url, refreshMs: 0 });
    const before = await source.ready();
    await node.stopListening();
    node.setSubnets(withIncentive(subnets, 7, 0, 0));
    node.produceBlock();
    expect(source.current()).toBe(before);
    await node.startListening();
    const after = await snapshotWhere(source, (snapshot) => incentiveOf(snapshot, 7, 0) === 0);
    expect(after.block).toBe(node.bestBlock());
    expect(incentiveOf(before, 7, 0)).not.toBe(0);
  });

  it('persists each snapshot, and after a restart serves it before the chain answers', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'taogate-chain-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const snapshotPath = join(directory, 'metagraph.json');
    const node = await startNode();
    const first = startSource({ url: node.url, snapshotPath });
    const persisted = await first.ready();
    await first.close();

    await node.stopListening();
    const restarted = startSource({ url: node.url, snapshotPath });
    expect(restarted.current()).toEqual(persisted);
    await expect(restarted.ready()).resolves.toEqual(persisted);
  });

  it('waits for the chain when no usable snapshot exists, and rejects the wait on close', async () => {
    const node = await startNode();
    await node.stopListening();
    const source = createChainSource({
      url: node.url,
      snapshotPath: join(tmpdir(), 'taogate-absent', 'none.json'),
    });
    expect(source.current()).toBeUndefined();
    const waiting = source.ready();
    await source.close();
    await expect(waiting).rejects.toBeInstanceOf(ChainSourceClosed);
  });
});
