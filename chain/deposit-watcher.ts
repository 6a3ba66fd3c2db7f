import type { ApiPromise } from '@polkadot/api';
import type { Vec } from '@polkadot/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import { hexToU8a } from '@polkadot/util';
import { blake2AsHex, decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type Backoff, openChainConnection } from './chain-connection.ts';
import { queryStorageAt, type StorageRpc } from './storage-fetch.ts';

/** A `Balances.Transfer` to the deposit address, identified by its block hash and event index. */
export interface IncomingTransfer {
  blockHash: string;
  blockNumber: number;
  eventIndex: number;
  /** The extrinsic that made it, when the event's phase names one. */
  extrinsicIndex: number | null;
  /**
   * `<extrinsic hash>:<n>` for the extrinsic's n-th transfer to the address: the same in whichever block a
   * re-org puts the extrinsic, so a sink can credit it once across re-orgs too. Null without an extrinsic.
   */
  transferId: string | null;
  from: string;
  amountRao: bigint;
}

/** Where confirmed transfers go: it must credit each (block hash, event index) once, however often told. */
export interface DepositSink {
  credit(transfer: IncomingTransfer): Promise<void>;
  /** The last block whose transfers were all handed over, if any. */
  cursor(): Promise<number | undefined>;
  setCursor(blockNumber: number): Promise<void>;
}

export interface DepositWatcherOptions {
  url: string;
  /** ss58 address the gateway is paid at. */
  address: string;
  /** A block's transfers are credited once this many blocks are built on it (0: at once). */
  confirmations: number;
  sink: DepositSink;
  logger: Logger;
  backoff?: Backoff;
}

export interface DepositWatcher {
  /** The highest block scanned so far. */
  scannedTo(): number | undefined;
  close(): Promise<void>;
}

/**
 * Follows new heads and scans each block once it has `confirmations` blocks on top: every `Balances.Transfer`
 * to the deposit address in its `System.Events` goes to the sink, then the cursor moves past the block. A
 * restart resumes after the cursor; a crash between a credit and the cursor re-reads the block, and the
 * sink's dedupe by block hash and event index keeps it to one credit. Only the canonical chain's blocks at
 * confirmed heights are read, so a re-org shallower than `confirmations` is never seen at all. The first
 * start begins at the confirmed head: transfers from before the gateway first watched are not looked for.
 */
export function watchDeposits(options: DepositWatcherOptions): DepositWatcher {
  const { logger, sink, confirmations } = options;
  const address = encodeAddress(decodeAddress(options.address), 42);
  let scanned: number | undefined;
  let best = -1;
  let scanning: Promise<void> | undefined;
  let closed = false;
  let unsubscribe: (() => void) | undefined;

  // One state_queryStorageAt per block, decoded with the chain's own metadata type: `api.at(hash)` would
  // also fetch the runtime version of every block scanned.
  const scanBlock = async (api: ApiPromise, blockNumber: number) => {
    const events = api.query.system?.events;
    if (!events) throw new Error('the chain has no System.Events storage');
    const hash = (await api.rpc.chain.getBlockHash(blockNumber)).toHex();
    const key = events.key();
    const raw = (await queryStorageAt(connection.rpc, [key], hash)).get(key.toLowerCase());
    if (!raw) return;
    // Loaded with the chain client by now (see chain-connection.ts): a lookup, not a load.
    const { unwrapStorageType } = await import('@polkadot/types');
    // System.Events is a Vec<EventRecord> on every FRAME chain.
    const records = api.registry.createType(
      unwrapStorageType(api.registry, events.creator.meta.type),
      raw,
    ) as unknown as Vec<EventRecord>;
    let extrinsicHashes: string[] | undefined;
    const transfersPerExtrinsic = new Map<number, number>();
    for (const [eventIndex, record] of records.entries()) {
      const { section, method, data } = record.event;
      if (section !== 'balances' || method !== 'Transfer') continue;
      const [from, to, amount] = data;
      if (!from || !to || !amount || to.toString() !== address) continue;
      const extrinsicIndex = record.phase.isApplyExtrinsic ? record.phase.asApplyExtrinsic.toNumber() : null;
      let transferId: string | null = null;
      if (extrinsicIndex !== null) {
        extrinsicHashes ??= await blockExtrinsicHashes(connection.rpc, hash);
        const nth = transfersPerExtrinsic.get(extrinsicIndex) ?? 0;
        transfersPerExtrinsic.set(extrinsicIndex, nth + 1);
        const extrinsicHash = extrinsicHashes[extrinsicIndex];
        if (extrinsicHash) transferId = `${extrinsicHash}:${nth}`;
      }
      await sink.credit({
        blockHash: hash,
        blockNumber,
        eventIndex,
        extrinsicIndex,
        transferId,
        from: from.toString(),
        amountRao: BigInt(amount.toString()),
      });
    }
  };

  const catchUp = async (api: ApiPromise) => {
    while (!closed) {
      const target = best - confirmations;
      if (target < 0) return;
      scanned ??= (await sink.cursor()) ?? target - 1;
      if (scanned >= target) return;
      const next = scanned + 1;
      await scanBlock(api, next);
      await sink.setCursor(next);
      scanned = next;
    }
  };

  const onHead = (api: ApiPromise, blockNumber: number) => {
    best = Math.max(best, blockNumber);
    if (scanning) return;
    scanning = catchUp(api)
      .catch((error: unknown) =>
        logger.warn({ err: error, best }, 'deposit scan failed; retrying on the next block'),
      )
      .finally(() => {
        scanning = undefined;
        // Heads that arrived during the scan are picked up by the next one.
        if (!closed && scanned !== undefined && best - confirmations > scanned) onHead(api, best);
      });
  };

  const connection = openChainConnection(options.url, {
    logger,
    backoff: options.backoff,
    onConnected: () => {
      unsubscribe?.();
      const api = connection.api;
      api.rpc.chain
        .subscribeNewHeads((header) => onHead(api, header.number.toNumber()))
        .then((stop) => {
          if (closed) stop();
          else unsubscribe = stop;
        })
        .catch((error: unknown) => logger.warn({ err: error }, 'deposit watcher could not follow new heads'));
    },
  });

  return {
    scannedTo: () => scanned,
    async close() {
      closed = true;
      unsubscribe?.();
      await scanning;
      await connection.close();
    },
  };
}

const blockBody = z.object({
  block: z.object({ extrinsics: z.array(z.string().regex(/^0x[0-9a-fA-F]*$/)) }),
});

/** Each extrinsic's hash (blake2_256 of its SCALE bytes, as nodes and explorers name it), in block order. */
async function blockExtrinsicHashes(rpc: StorageRpc, blockHash: string): Promise<string[]> {
  const answer = blockBody.safeParse(await rpc.send('chain_getBlock', [blockHash]));
  if (!answer.success) throw new Error(`chain_getBlock answer is malformed: ${answer.error.message}`);
  return answer.data.block.extrinsics.map((extrinsic) => blake2AsHex(hexToU8a(extrinsic)));
}
