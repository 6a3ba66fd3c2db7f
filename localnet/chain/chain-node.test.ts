import type { Header } from '@polkadot/types/interfaces';
import { hexToU8a } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadChainRuntime } from './chain-runtime.ts';
import { type ChainNode, startChainNode } from './index.ts';
import { sampleSubnets } from './sample-subnets.ts';

interface RpcAnswer {
  id?: number;
  result?: unknown;
  error?: { code: number; message: string };
  method?: string;
  params?: { subscription: string; result: unknown };
}

/** A bare JSON-RPC client, so the node is checked against the wire format rather than against polkadot-js. */
async function connect(url: string) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const messages: RpcAnswer[] = [];
  const waiting: (() => void)[] = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as RpcAnswer);
    for (const wake of waiting.splice(0)) wake();
  });
  let nextId = 0;
  const next = async (match: (message: RpcAnswer) => boolean): Promise<RpcAnswer> => {
    for (;;) {
      const index = messages.findIndex(match);
      if (index >= 0) return messages.splice(index, 1)[0]!;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  return {
    async call(method: string, params: unknown[] = []): Promise<RpcAnswer> {
      const id = ++nextId;
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      return next((message) => message.id === id);
    },
    notification: (method: string) => next((message) => message.method === method),
    close: () => socket.close(),
  };
}

describe('localnet chain node', () => {
  const runtime = loadChainRuntime();
  let node: ChainNode;
  let client: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    node = await startChainNode({ subnets: sampleSubnets({ count: 2, neuronsPerSubnet: 8 }), blockMs: 0 });
    client = await connect(node.url);
  });
  afterAll(async () => {
    client.close();
    await node.close();
  });

  it('answers an unknown method with JSON-RPC error -32601', async () => {
    const answer = await client.call('author_rotateKeys');
    expect(answer.error?.code).toBe(-32601);
  });

  it('hashes each header as blake2_256 of its SCALE encoding and chains it to its parent', async () => {
    node.produceBlock();
    const best = await client.call('chain_getHeader');
    const header = runtime.registry.createType<Header>('Header', best.result);
    const hash = (await client.call('chain_getBlockHash', [header.number.toNumber()])).result;
    expect(hash).toBe(blake2AsHex(header.toU8a()));
    const parentHash = (await client.call('chain_getBlockHash', [header.number.toNumber() - 1])).result;
    expect(header.parentHash.toHex()).toBe(parentHash);
  });

  it('serves storage encoded from the real metadata, and pages keys under a prefix', async () => {
    const [subnet] = sampleSubnets({ count: 1, neuronsPerSubnet: 8 });
    const hotkey = subnet!.neurons[3]!.hotkey;
    const stored = await client.call('state_getStorage', [
      runtime.storageKey('SubtensorModule', 'Keys', 1, 3),
    ]);
    expect(runtime.registry.createType('AccountId32', stored.result).toString()).toBe(hotkey);

    // Keys is (Identity netuid, Identity uid): the pallet+item prefix and the netuid make the subnet's prefix.
    const prefix = runtime.storageKey('SubtensorModule', 'Keys', 1, 0).slice(0, 2 + 64 + 4);
    const firstPage = (await client.call('state_getKeysPaged', [prefix, 5, null])).result as string[];
    const secondPage = (await client.call('state_getKeysPaged', [prefix, 5, firstPage.at(-1)]))
      .result as string[];
    expect(firstPage).toHaveLength(5);
    expect(secondPage).toHaveLength(3);
    expect(new Set([...firstPage, ...secondPage]).size).toBe(8);
  });

  it("refuses an extrinsic it cannot decode, as a node's pool does", async () => {
    const answer = await client.call('author_submitExtrinsic', ['0x00']);
    expect(answer.error?.code).toBe(1002);
  });

  it('refuses reads at a block it does not know, as a pruned node does', async () => {
    const answer = await client.call('state_getStorage', ['0x00', `0x${'ab'.repeat(32)}`]);
    expect(answer.error?.code).toBe(4003);
  });

  it('notifies new heads to subscribers and shows changed state from the next block', async () => {
    const subscription = await client.call('chain_subscribeNewHeads');
    await client.notification('chain_newHead');
    const key = runtime.storageKey('SubtensorModule', 'Tempo', 1);
    const changed = sampleSubnets({ count: 2, neuronsPerSubnet: 8, tempo: 99 });
    node.setSubnets(changed);
    const tempoNow = async () => {
      const stored = (await client.call('state_getStorage', [key])).result as string;
      return runtime.registry.createType('u16', hexToU8a(stored)).toNumber();
    };
    const before = await tempoNow();
    const number = node.produceBlock();
    const head = await client.notification('chain_newHead');
    expect(head.params?.result).toMatchObject({ number: `0x${number.toString(16)}` });
    expect(before).toBe(360);
    expect(await tempoNow()).toBe(99);
    const unsubscribed = await client.call('chain_unsubscribeNewHeads', [subscription.result]);
    expect(unsubscribed.result).toBe(true);
  });
});
