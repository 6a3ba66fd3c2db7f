import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeRedis, connectRedis } from '../cache/index.ts';
import type { GatewayConfig } from '../config/index.ts';
import { httpError } from './errors.ts';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Requests per minute per bucket (a key, an account, an IP), in fixed one-minute windows. */
export interface RateLimiter {
  take(bucket: string, perMinute: number): Promise<RateDecision>;
  close(): Promise<void>;
}

const WINDOW_MS = 60_000;
const MAX_LOCAL_BUCKETS = 100_000;

/** One replica's own counts: the limit holds per replica. */
export function createLocalRateLimiter(now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { window: number; count: number }>();
  return {
    async take(bucket, perMinute) {
      const time = now();
      const window = Math.floor(time / WINDOW_MS);
      let entry = windows.get(bucket);
      if (!entry || entry.window !== window) {
        // Bounded memory: when full, forget every bucket of an earlier window at once.
        if (windows.size >= MAX_LOCAL_BUCKETS) {
          for (const [name, counted] of windows) if (counted.window !== window) windows.delete(name);
        }
        entry = { window, count: 0 };
        windows.set(bucket, entry);
      }
      if (entry.count >= perMinute) return { ok: false, retryAfterSeconds: retryAfter(time) };
      entry.count++;
      return { ok: true };
    },
    close: async () => windows.clear(),
  };
}

/**
 * Counts shared by every replica through Redis (INCR on a per-window key). Redis being slow or down never
 * fails a request: the replica falls back to its own counts until Redis answers again.
 */
export function createRedisRateLimiter(client: Redis, prefix = 'taogate:ratelimit:'): RateLimiter {
  const local = createLocalRateLimiter();
  return {
    async take(bucket, perMinute) {
      const time = Date.now();
      const key = `${prefix}${bucket}:${Math.floor(time / WINDOW_MS)}`;
      try {
        const results = await client
          .multi()
          .incr(key)
          .pexpire(key, WINDOW_MS * 2)
          .exec();
        const count = Number(results?.[0]?.[1]);
        if (!Number.isFinite(count)) throw new Error('no count from redis');
        return count <= perMinute ? { ok: true } : { ok: false, retryAfterSeconds: retryAfter(time) };
      } catch {
        return local.take(bucket, perMinute);
      }
    },
    close: () => local.close(),
  };
}

function retryAfter(time: number): number {
  return Math.max(1, Math.ceil((WINDOW_MS - (time % WINDOW_MS)) / 1000));
}

/** Per client IP (the socket's peer: put a proxy's own limits in front when there is one). */
export function rateLimitByIp(limiter: RateLimiter, perMinute: number): MiddlewareHandler {
  return async (c, next) => {
    const ip = clientIp(c);
    const decision = await limiter.take(`ip:${ip}`, perMinute);
    if (!decision.ok) {
      const error = httpError(
        429,
        `Too many requests from this address: ${perMinute} per minute. Retry in ${decision.retryAfterSeconds}s.`,
        'rate_limit_error',
        'rate_limit_exceeded',
      );
      return c.json(error.body, error.status, { 'retry-after': String(decision.retryAfterSeconds) });
    }
    await next();
  };
}

function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Rate limits (and signed-request replay checks) shared through Redis when the gateway has one. */
export interface RequestGuards {
  /** The connection they share; undefined without TAOGATE_REDIS_URL. */
  redis: Redis | undefined;
  /** The per-IP limit, when TAOGATE_RATE_LIMIT_PER_IP is set. */
  ipRateLimit: MiddlewareHandler | undefined;
  createLimiter(): RateLimiter;
  close(): Promise<void>;
}

export function startRequestGuards(config: GatewayConfig, logger: Logger): RequestGuards {
  const needed = config.ledger !== undefined || config.rateLimits.perIpPerMinute > 0;
  const redis =
    needed && config.redisUrl
      ? connectRedis(config.redisUrl, {
          name: 'taogate-guards',
          onError: (error) => logger.debug({ err: error }, 'rate-limit redis error'),
        })
      : undefined;
  const createLimiter = () => (redis ? createRedisRateLimiter(redis) : createLocalRateLimiter());
  const perIp = config.rateLimits.perIpPerMinute;
  return {
    redis,
    ipRateLimit: perIp > 0 ? rateLimitByIp(createLimiter(), perIp) : undefined,
    createLimiter,
    async close() {
      if (redis) await closeRedis(redis);
    },
  };
}
