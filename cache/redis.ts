import { Redis } from 'ioredis';

/**
 * The one way taogate talks to Redis (cache, coalescing, rate limits, deploy): a client that never fails a
 * request by itself. Commands are bounded by a timeout, are refused at once while the connection is down
 * (no offline queue piling up latency), and the connection comes back on its own in the background.
 * Callers treat every rejection as "Redis unavailable" and carry on without it.
 */
export interface RedisConnectionOptions {
  /** Shown in `CLIENT LIST`, to tell the gateway's connections apart. */
  name?: string;
  /** How long a connection attempt may take before it counts as failed. */
  connectTimeoutMs?: number;
  /** How long one command may take; past it the command rejects and the caller goes on without Redis. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnect attempts. */
  maxReconnectDelayMs?: number;
  /**
   * Queue commands while (re)connecting instead of refusing them: only for a subscriber connection, whose
   * SUBSCRIBE must reach the server once it is back. Queued commands are still bounded by the command timeout.
   */
  queueWhileDisconnected?: boolean;
  /** Told about connection errors (already handled: they never escape as unhandled 'error' events). */
  onError?: (error: Error) => void;
}

export const REDIS_DEFAULTS = {
  connectTimeoutMs: 1000,
  commandTimeoutMs: 150,
  maxReconnectDelayMs: 2000,
} as const;

/** Connects to `url` (redis:// or rediss://) in the background; the returned client is usable at once. */
export function connectRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? REDIS_DEFAULTS.maxReconnectDelayMs;
  const client = new Redis(url, {
    connectionName: options.name,
    connectTimeout: options.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    enableOfflineQueue: options.queueWhileDisconnected ?? false,
    // A command caught by a dropped connection fails now rather than being replayed after a reconnect,
    // when its request has long gone on without it.
    maxRetriesPerRequest: 0,
    // Keep trying forever, with a short backoff: Redis coming back should be noticed within seconds.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    enableReadyCheck: true,
    // ioredis re-subscribes on reconnect with a promise nobody handles: Redis dropping again meanwhile is an
    // unhandled "Connection is closed". Subscribers re-subscribe on 'ready' themselves, handling the outcome.
    autoResubscribe: false,
    lazyConnect: false,
  });
  client.on('error', (error: Error) => options.onError?.(error));
  return client;
}

/** True when commands sent now would be written straight to the server. */
export function redisReady(client: Redis): boolean {
  return client.status === 'ready';
}

/**
 * Waits up to `timeoutMs` for the first connection, so start-up can begin with Redis in use; false if it
 * is not there yet (the client keeps trying in the background all the same).
 */
export function waitForRedis(client: Redis, timeoutMs = REDIS_DEFAULTS.connectTimeoutMs): Promise<boolean> {
  if (redisReady(client)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
  });
}

/** Closes politely when the server answers, and at once when it does not. */
export async function closeRedis(client: Redis, timeoutMs = 500): Promise<void> {
  if (client.status === 'end') return;
  if (!redisReady(client)) {
    client.disconnect();
    return;
  }
  const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([
    client.quit().then(
      () => undefined,
      () => undefined,
    ),
    timer,
  ]);
  client.disconnect();
}
