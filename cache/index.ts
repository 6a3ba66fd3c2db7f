export {
  closeRedis,
  connectRedis,
  REDIS_DEFAULTS,
  type RedisConnectionOptions,
  redisReady,
  waitForRedis,
} from './redis.ts';
