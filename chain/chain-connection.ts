import type { ApiPromise, WsProvider } from '@polkadot/api';
import type { Logger } from 'pino';
import type { StorageRpc } from './storage-fetch.ts';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface ChainConnectionOptions {
  logger: Logger;
  backoff?: Backoff;
  /** Called on every (re)connection once the API has loaded the runtime metadata. */
  onConnected: () => void;
}

export interface ChainConnection {
  /** The API, from the first `onConnected` on (it throws before: the chain client is still loading). */
  readonly api: ApiPromise;
  /** Raw JSON-RPC on the same socket, for batched storage reads; like `api`, from the first `onConnected`. */
  readonly rpc: StorageRpc;
  close(): Promise<void>;
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 30_000 };
// polkadot-js waits 60 s for an answer by default; a stuck node should fail a refresh sooner than that.
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * An `ApiPromise` that reconnects with exponential backoff and jitter. WsProvider's own auto-connect retries on a
 * fixed period with timers it does not cancel on `disconnect()`, so it is switched off and reconnection lives here,
 * where `close()` can clear it. WsProvider re-sends live subscriptions (new heads) on every reconnection.
 *
 * polkadot-js is loaded here, on the first connection, not when the module is imported: with its type
 * registry it is ~25 MB of heap and far more RSS, which a gateway serving only OpenAI-compatible subnets
 * never needs.
 */
export function openChainConnection(url: string, options: ChainConnectionOptions): ChainConnection {
  let closed = false;
  let connected: Connected | undefined;
  const opened = import('@polkadot/api').then(
    ({ ApiPromise, WsProvider }) => {
      if (closed) return undefined;
      connected = reconnecting(url, options, { ApiPromise, WsProvider });
      return connected;
    },
    (error: unknown) => {
      options.logger.error({ err: error }, 'the chain client failed to load');
      return undefined;
    },
  );
  const loaded = (): Connected => {
    if (!connected) throw new Error('the chain client is not loaded yet');
    return connected;
  };
  return {
    get api() {
      return loaded().api;
    },
    get rpc() {
      return loaded().provider;
    },
    async close() {
      closed = true;
      await (await opened)?.close();
    },
  };
}

interface Connected {
  api: ApiPromise;
  provider: WsProvider;
  close(): Promise<void>;
}

function reconnecting(
  url: string,
  options: ChainConnectionOptions,
  polkadot: { ApiPromise: typeof ApiPromise; WsProvider: typeof WsProvider },
): Connected {
  const { logger } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const provider = new polkadot.WsProvider(url, false, {}, REQUEST_TIMEOUT_MS);
  const api = new polkadot.ApiPromise({ provider, noInitWarn: true });
  // Rejects on the first socket error before the API is ready (a node that is down at start); readiness is
  // awaited through `isReady` below, so, as `ApiPromise.create` does, this one is deliberately ignored.
  api.isReadyOrError.catch(() => undefined);
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let everReady = false;

  const connect = (): void => {
    provider.connect().catch((error: unknown) => {
      logger.debug({ err: error }, 'chain connect failed');
      scheduleReconnect();
    });
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer) return;
    const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    attempt++;
    logger.debug({ url, delay, attempt }, 'chain reconnect scheduled');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (!closed) connect();
    }, delay);
  };

  api.on('error', (error: unknown) => logger.debug({ err: error }, 'chain api error'));
  provider.on('disconnected', () => {
    if (closed) return;
    if (attempt === 0) logger.warn({ url }, 'chain node disconnected; reconnecting');
    scheduleReconnect();
  });
  provider.on('connected', () => {
    attempt = 0;
    logger.info({ url }, 'chain node connected');
    // The first connection is reported by `ready` below, once metadata is loaded.
    if (everReady) options.onConnected();
  });
  api.isReady
    .then(() => {
      everReady = true;
      if (!closed) options.onConnected();
    })
    .catch((error: unknown) => logger.error({ err: error }, 'chain api failed to initialise'));

  connect();

  return {
    api,
    provider,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      await api
        .disconnect()
        .catch((error: unknown) => logger.debug({ err: error }, 'chain disconnect failed'));
    },
  };
}
