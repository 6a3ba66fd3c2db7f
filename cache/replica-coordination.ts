import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A lock on one key, held by this replica while it asks upstream for everyone. */
export interface ReplicaLock {
  /** Pushes the expiry out again: a live leader keeps its lock, a dead one loses it within `lockMs`. */
  renew(): void;
  release(): Promise<void>;
}

export type LockOutcome =
  | { kind: 'acquired'; lock: ReplicaLock }
  | { kind: 'held' }
  | { kind: 'unavailable' };

export interface ReplicaCoordinationOptions {
  redis: Redis;
  /** A second connection: one in subscriber mode can send nothing else. */
  subscriber: Redis;
  prefix: string;
  /** How long a lock outlives its last renewal; also how long a follower waits before checking again. */
  lockMs: number;
  onRedisError: (operation: string, error: unknown) => void;
}

// Only the holder may extend or delete its lock: a lock that expired and was taken by another replica
// must not be released by the first one finishing late.
const RELEASE_IF_HELD =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
const RENEW_IF_HELD =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";

/**
 * Coalescing across replicas: the first replica to take a key's short lock asks upstream; the others wait
 * for its announcement on one pub/sub channel, then read the answer from Redis. Every failure of Redis
 * reads as "unavailable", and the caller then simply asks upstream itself.
 */
export function createReplicaCoordination(options: ReplicaCoordinationOptions) {
  const { redis, subscriber, prefix, lockMs } = options;
  const channel = `${prefix}done`;
  const waiters = new Map<string, Set<() => void>>();

  subscriber.on('message', (from: string, key: string) => {
    if (from !== channel) return;
    const waiting = waiters.get(key);
    if (!waiting) return;
    waiters.delete(key);
    for (const wake of waiting) wake();
  });
  // Followers learn of answers only through the channel: while it is not subscribed, replicas lead on their own.
  let subscribed = false;
  const subscribe = () =>
    subscriber.subscribe(channel).then(
      () => {
        subscribed = true;
      },
      (error: unknown) => options.onRedisError('subscribe', error),
    );
  subscriber.on('ready', subscribe);
  subscriber.on('close', () => {
    subscribed = false;
  });
  void subscribe();

  function lockKey(key: string): string {
    return `${prefix}lock:${key}`;
  }

  return {
    async tryLock(key: string): Promise<LockOutcome> {
      if (!subscribed) return { kind: 'unavailable' };
      const token = randomUUID();
      const name = lockKey(key);
      try {
        const taken = await redis.set(name, token, 'PX', lockMs, 'NX');
        if (taken === null) return { kind: 'held' };
      } catch (error) {
        options.onRedisError('lock', error);
        return { kind: 'unavailable' };
      }
      return {
        kind: 'acquired',
        lock: {
          renew() {
            redis
              .eval(RENEW_IF_HELD, 1, name, token, lockMs)
              .catch((error) => options.onRedisError('renew', error));
          },
          async release() {
            try {
              await redis.eval(RELEASE_IF_HELD, 1, name, token);
              await redis.publish(channel, key);
            } catch (error) {
              options.onRedisError('release', error);
            }
          },
        },
      };
    },

    /**
     * Starts listening for the key's leader to announce it is done; `done` resolves then, after
     * `timeoutMs`, or when `signal` aborts. Listen before trying the lock, so an announcement sent in
     * between is not missed.
     */
    listenForLeader(
      key: string,
      timeoutMs: number,
      signal: AbortSignal,
    ): { done: Promise<void>; cancel(): void } {
      let cancel = () => {};
      const done = new Promise<void>((resolve) => {
        let waiting = waiters.get(key);
        if (!waiting) {
          waiting = new Set();
          waiters.set(key, waiting);
        }
        const finish = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', finish);
          const set = waiters.get(key);
          set?.delete(finish);
          if (set?.size === 0) waiters.delete(key);
          resolve();
        };
        const timer = setTimeout(finish, timeoutMs);
        signal.addEventListener('abort', finish, { once: true });
        waiting.add(finish);
        cancel = finish;
      });
      return { done, cancel };
    },
  };
}

export type ReplicaCoordination = ReturnType<typeof createReplicaCoordination>;
