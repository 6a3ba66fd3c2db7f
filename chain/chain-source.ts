import { type Logger, pino } from 'pino';
import { type Backoff, openChainConnection } from './chain-connection.ts';
import type { MetagraphSnapshot, MetagraphSource } from './metagraph.ts';
import { type ChainHead, createMetagraphReader } from './metagraph-reader.ts';
import { refreshPolicy } from './refresh-schedule.ts';
import { createSnapshotWriter, loadSnapshotFile } from './snapshot-file.ts';

export interface ChainSourceOptions {
  /** Subtensor node, e.g. `wss://entrypoint-finney.opentensor.ai:443`. */
  url: string;
  /** Where the last good snapshot is kept, so a restart serves the metagraph before the chain answers. */
  snapshotPath?: string;
  /** Re-read every subnet this often. Default: each subnet once per its tempo, at most every 3 s. */
  refreshMs?: number;
  /** Read only these subnets. */
  netuids?: number[];
  logger?: Logger;
  /** Reconnection delays; default 250 ms doubling up to 30 s. */
  reconnectBackoff?: Backoff;
}

/** `ready()` was pending when the source was closed. */
export class ChainSourceClosed extends Error {
  readonly code = 'CHAIN_SOURCE_CLOSED';
  constructor() {
    super('chain source closed before a metagraph snapshot was available');
    this.name = 'ChainSourceClosed';
  }
}

/**
 * The production `MetagraphSource`: follows new heads on a Subtensor node, re-reads subnets as they become due,
 * and keeps serving the last good snapshot through any error or disconnection.
 */
export function createChainSource(options: ChainSourceOptions): MetagraphSource {
  if (options.netuids?.length === 0) return nothingToRead();
  const logger = options.logger ?? pino({ level: 'silent' });
  const only = options.netuids ? new Set(options.netuids) : undefined;
  const listeners = new Set<(snapshot: MetagraphSnapshot) => void>();
  const waiters: { resolve: (snapshot: MetagraphSnapshot) => void; reject: (error: Error) => void }[] = [];
  const writer =
    options.snapshotPath === undefined
      ? undefined
      : createSnapshotWriter(options.snapshotPath, (error) =>
          logger.warn({ err: error }, 'snapshot write failed'),
        );

  let current = options.snapshotPath === undefined ? undefined : restoreSnapshot(options.snapshotPath);
  const reader = createMetagraphReader({ only, policy: refreshPolicy(options.refreshMs), initial: current });
  let closed = false;
  let pendingHead: ChainHead | undefined;
  let refreshing: Promise<void> | undefined;
  let unsubscribeHeads: (() => void) | undefined;

  function restoreSnapshot(path: string): MetagraphSnapshot | undefined {
    const loaded = loadSnapshotFile(path);
    if (!loaded.ok) {
      if (loaded.reason !== 'missing')
        logger.warn({ path, reason: loaded.reason, detail: loaded.detail }, 'snapshot ignored');
      return undefined;
    }
    const { snapshot } = loaded;
    logger.info(
      { path, block: snapshot.block },
      'serving persisted metagraph snapshot until the chain answers',
    );
    return only ? { ...snapshot, subnets: snapshot.subnets.filter((s) => only.has(s.netuid)) } : snapshot;
  }

  const publish = (snapshot: MetagraphSnapshot): void => {
    current = snapshot;
    writer?.save(snapshot);
    for (const waiter of waiters.splice(0)) waiter.resolve(snapshot);
    for (const listener of listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        logger.error({ err: error }, 'metagraph listener threw');
      }
    }
  };

  const drainHeads = async (): Promise<void> => {
    while (pendingHead && !closed) {
      const head = pendingHead;
      pendingHead = undefined;
      const outcome = await reader.refresh(connection, head);
      if (closed) return;
      if (outcome.kind === 'failed') {
        logger.warn(
          { block: head.block, reason: outcome.reason },
          'metagraph refresh failed; serving the last snapshot',
        );
        continue;
      }
      if (outcome.problems.length > 0) {
        logger.warn(
          { block: head.block, count: outcome.problems.length, first: outcome.problems.slice(0, 5) },
          'chain data skipped',
        );
      }
      if (outcome.kind === 'updated') {
        logger.debug({ block: head.block, netuids: outcome.readNetuids }, 'metagraph refreshed');
        publish(outcome.snapshot);
      }
    }
  };

  // Heads arriving while a read runs collapse into the newest one: reading stale blocks helps nobody.
  const onHead = (head: ChainHead): void => {
    if (closed) return;
    pendingHead = head;
    refreshing ??= drainHeads().finally(() => {
      refreshing = undefined;
      if (pendingHead && !closed) onHead(pendingHead);
    });
  };

  const followHeads = async (): Promise<void> => {
    const { api } = connection;
    try {
      const header = await api.rpc.chain.getHeader();
      onHead({ hash: header.hash.toHex(), block: header.number.toNumber() });
      // WsProvider re-subscribes by itself after a reconnection; only the first subscription is made here.
      if (unsubscribeHeads || closed) return;
      const unsubscribe = await api.rpc.chain.subscribeNewHeads((next) =>
        onHead({ hash: next.hash.toHex(), block: next.number.toNumber() }),
      );
      if (closed) unsubscribe();
      else unsubscribeHeads = unsubscribe;
    } catch (error) {
      logger.warn({ err: error }, 'following chain heads failed; retrying on the next connection');
    }
  };

  const connection = openChainConnection(options.url, {
    logger,
    backoff: options.reconnectBackoff,
    onConnected: () => void followHeads(),
  });

  return {
    current: () => current,
    ready() {
      if (current) return Promise.resolve(current);
      if (closed) return Promise.reject(new ChainSourceClosed());
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    onUpdate(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        unsubscribeHeads?.();
      } catch {
        // Already disconnected: nothing to unsubscribe from.
      }
      await connection.close();
      await refreshing;
      await writer?.flush();
      listeners.clear();
      for (const waiter of waiters.splice(0)) waiter.reject(new ChainSourceClosed());
    },
  };
}

/**
 * No subnet to read (every profile an OpenAI-compatible endpoint): an empty metagraph at once, and no
 * connection, so the chain client is never loaded and readiness never waits for a read that cannot come.
 */
function nothingToRead(): MetagraphSource {
  const empty: MetagraphSnapshot = { block: 0, readAt: Date.now(), subnets: [] };
  return {
    current: () => empty,
    ready: () => Promise.resolve(empty),
    onUpdate: () => () => {},
    close: async () => {},
  };
}
