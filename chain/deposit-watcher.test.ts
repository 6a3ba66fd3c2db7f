import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { sampleSubnets } from '../localnet/chain/index.ts';
import { type ChainNode, startChainNode } from '../localnet/index.ts';
import { waitFor } from '../test/billing.ts';
import { sendTransfer } from './deposit-transfer.ts';
import { type DepositSink, type IncomingTransfer, watchDeposits } from './deposit-watcher.ts';

/** A sink that dedupes as the ledger does (by block hash and event index) and remembers its cursor. */
function memorySink() {
  const credited = new Map<string, IncomingTransfer>();
  let cursor: number | undefined;
  const sink: DepositSink = {
    async credit(transfer) {
      credited.set(`${transfer.blockHash}:${transfer.eventIndex}`, transfer);
    },
    cursor: async () => cursor,
    async setCursor(block) {
      cursor = block;
    },
  };
  const rewind = (block: number) => {
    cursor = block;
  };
  return { sink, credited, cursor: () => cursor, rewind };
}

describe('deposit watcher on localnet', () => {
  let node: ChainNode;
  let depositAddress: string;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    node = await startChainNode({ subnets: sampleSubnets({ count: 1, neuronsPerSubnet: 4 }), blockMs: 200 });
    depositAddress = (await hotkeyFromSecret('//watcher-test/deposit')).ss58;
  });
  afterAll(async () => {
    await node?.close();
  });

  it('credits a transfer to the deposit address once it has N confirmations, and only that one', async () => {
    const { sink, credited, cursor } = memorySink();
    const watcher = watchDeposits({ url: node.url, address: depositAddress, confirmations: 3, sink, logger });
    await waitFor(() => cursor() !== undefined, 'the first scan');
    const payer = await hotkeyFromSecret('//watcher-test/payer');
    const [paid] = await Promise.all([
      sendTransfer({
        url: node.url,
        fromSecret: '//watcher-test/payer',
        to: depositAddress,
        amountRao: 2_500_000_000n,
      }),
      // A transfer elsewhere in the same blocks must be ignored.
      sendTransfer({
        url: node.url,
        fromSecret: '//watcher-test/other',
        to: payer.ss58,
        amountRao: 7n * 10n ** 9n,
      }),
    ]);
    const includedAt = await blockNumberOf(node, paid.blockHash);
    await waitFor(() => credited.size > 0, 'the credit');
    expect(node.bestBlock()).toBeGreaterThanOrEqual(includedAt + 3);
    expect([...credited.values()]).toEqual([
      expect.objectContaining({
        from: payer.ss58,
        amountRao: 2_500_000_000n,
        blockHash: paid.blockHash,
        blockNumber: includedAt,
      }),
    ]);
    await watcher.close();
  });

  it('resumes after its cursor on restart, and a rescanned block yields the same deposit identity', async () => {
    const { sink, credited, cursor, rewind } = memorySink();
    let watcher = watchDeposits({ url: node.url, address: depositAddress, confirmations: 0, sink, logger });
    await waitFor(() => cursor() !== undefined, 'the first scan');
    const paid = await sendTransfer({
      url: node.url,
      fromSecret: '//watcher-test/again',
      to: depositAddress,
      amountRao: 10n ** 9n,
    });
    await waitFor(() => credited.size === 1, 'the credit');
    await watcher.close();
    // As if the process died between crediting the block and moving its cursor past it.
    const paidAt = await blockNumberOf(node, paid.blockHash);
    rewind(paidAt - 1);
    const first = [...credited.keys()];
    watcher = watchDeposits({ url: node.url, address: depositAddress, confirmations: 0, sink, logger });
    await waitFor(() => (cursor() ?? 0) > paidAt, 'the rescan');
    expect([...credited.keys()]).toEqual(first);
    await watcher.close();
  });
});

/** The number of the block with this hash, asked of the node as any client would (chain_getHeader). */
async function blockNumberOf(node: ChainNode, hash: string): Promise<number> {
  const socket = new WebSocket(node.url);
  await new Promise((resolve) => socket.once('open', resolve));
  const header = await new Promise<{ number: string }>((resolve) => {
    socket.once('message', (data) =>
      resolve((JSON.parse(data.toString()) as { result: { number: string } }).result),
    );
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chain_getHeader', params: [hash] }));
  });
  socket.close();
  return Number.parseInt(header.number, 16);
}
