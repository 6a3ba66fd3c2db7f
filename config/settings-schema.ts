import { checkAddress } from '@polkadot/util-crypto';
import { z } from 'zod';
import { DEFAULT_PROFILES_PATH } from './profiles.ts';

export const NETWORKS = {
  finney: 'wss://entrypoint-finney.opentensor.ai:443',
  test: 'wss://test.finney.opentensor.ai:443',
} as const;

/** The dev-derived hotkey localnet registers as its validator; never valid anywhere else. */
export const LOCALNET_HOTKEY = '//taogate';

/** The model shipped in the repo (models/README.md says how it was made); absent means blended weights. */
export const DEFAULT_RERANKER_MODEL_PATH = new URL('../models/reranker.onnx', import.meta.url).pathname;

/** The named pipelines shipped in the repo (localnet examples). */
export const DEFAULT_PIPELINES_PATH = new URL('./pipelines.yaml', import.meta.url).pathname;

/** A CORS allow-list entry: an exact origin (`https://app.example.com`, `http://localhost:3000`), nothing wider. */
function isExactOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    const web = url.protocol === 'https:' || url.protocol === 'http:';
    return web && url.origin === text && !text.includes('*');
  } catch {
    return false;
  }
}

const booleanText = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/** A feature switch: `on`/`off`, or a boolean. */
const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .transform((v) => v === 'on' || v === 'true' || v === '1');

/** Every `TAOGATE_*` variable: its type, bounds and default, checked before anything starts. */
export const settingsSchema = z.object({
  TAOGATE_HOST: z.string().min(1).default('127.0.0.1'),
  TAOGATE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** `localnet`, `finney`, `test`, or a ws(s):// URL of a Subtensor node. */
  TAOGATE_NETWORK: z
    .string()
    .refine(
      (v) => v === 'localnet' || v in NETWORKS || /^wss?:\/\/\S+$/.test(v),
      'localnet, finney, test or a ws(s):// URL',
    )
    .default('localnet'),
  /** The gateway's hotkey: a mnemonic, a 0x seed, or either with a derivation path. */
  TAOGATE_HOTKEY: z.string().min(1).optional(),
  /** A bittensor wallet hotkey file, or a file holding the mnemonic or seed; instead of TAOGATE_HOTKEY. */
  TAOGATE_HOTKEY_FILE: z.string().min(1).optional(),
  TAOGATE_PROFILES: z.string().min(1).default(DEFAULT_PROFILES_PATH),
  /** Named pipelines (JSON or YAML), callable as `pipeline/<name>`; `off` for none. */
  TAOGATE_PIPELINES: z.string().min(1).default(DEFAULT_PIPELINES_PATH),
  TAOGATE_SNAPSHOT_DIR: z.string().min(1).default('.taogate'),
  /** Re-read the metagraph this often; by default each subnet once per tempo. */
  TAOGATE_CHAIN_REFRESH_MS: z.coerce.number().int().min(100).max(3_600_000).optional(),
  TAOGATE_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** On SIGTERM/SIGINT, how long requests and streams in flight may take to finish before they are cut. */
  TAOGATE_DRAIN_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  TAOGATE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(2),
  TAOGATE_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** Observed miner outcomes lose half their weight every this many ms. */
  TAOGATE_STATS_HALF_LIFE_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
  /** Consecutive failures that open a miner's circuit. */
  TAOGATE_BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(3),
  TAOGATE_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  TAOGATE_BREAKER_MAX_COOLDOWN_MS: z.coerce.number().int().min(100).max(86_400_000).default(300_000),
  /** Retries per window as a share of requests, plus a floor of retries always allowed per window. */
  TAOGATE_RETRY_BUDGET_RATIO: z.coerce.number().min(0).max(10).default(0.2),
  TAOGATE_RETRY_BUDGET_FLOOR: z.coerce.number().int().min(0).max(100_000).default(10),
  TAOGATE_RETRY_BUDGET_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).default(10_000),
  /** What miner selection weighs by; `incentive` and `uniform` are baselines for benchmarks. */
  TAOGATE_ROUTING_WEIGHTS: z.enum(['blended', 'incentive', 'uniform']).default('blended'),
  /** Hedge slow first chunks with a second miner (`off` to never). */
  TAOGATE_HEDGE: onOff.default(true),
  /** Hedge once a call's first chunk is later than this quantile of the subnet's recent first chunks. */
  TAOGATE_HEDGE_QUANTILE: z.coerce.number().min(0.5).max(0.999).default(0.95),
  /** Never hedge sooner: only keeps timer and event-loop jitter from looking slow (router/hedge.ts). */
  TAOGATE_HEDGE_MIN_MS: z.coerce.number().int().min(1).max(600_000).default(5),
  /** First chunks the subnet must have seen before its quantile is trusted. */
  TAOGATE_HEDGE_MIN_SAMPLES: z.coerce.number().int().min(1).max(100_000).default(20),
  /** Most miners one request may ask at once with `x-taogate-fanout` (1 turns fan-out off). */
  TAOGATE_MAX_FANOUT: z.coerce.number().int().min(1).max(5).default(5),
  /** Also the connections kept per miner or endpoint, so that no call waits in undici's queue out of sight. */
  TAOGATE_MINER_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(64),
  TAOGATE_SUBNET_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000_000).default(1024),
  /** Dial axons on private ranges (a private deployment). */
  TAOGATE_ALLOW_PRIVATE_AXONS: booleanText.default(false),
  /** Dial 127.0.0.0/8 and ::1 axons: a gateway beside its own miners, or localnet read by URL. */
  TAOGATE_ALLOW_LOOPBACK_AXONS: booleanText.optional(),
  /** ONNX reranker model, polled for changes; `off` disables reranking. */
  TAOGATE_RERANKER_MODEL: z.string().min(1).default(DEFAULT_RERANKER_MODEL_PATH),
  /** Append per-attempt reranker traces (JSONL) to this file, for `bin/train-reranker.ts`. */
  TAOGATE_RERANKER_TRACES: z.string().min(1).optional(),
  TAOGATE_DENDRITE_IP: z.string().min(1).default('0.0.0.0'),
  /** How clients reach the gateway (`https://api.example.com`), for the image URLs it hands out. */
  TAOGATE_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  /** How long a generated image stays fetchable at the URL the gateway gave for it. */
  TAOGATE_IMAGE_URL_TTL_S: z.coerce.number().int().min(1).max(86_400).default(3600),
  /** Bytes of generated images kept for their URLs; the least recently used go first. */
  TAOGATE_IMAGE_STORE_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .max(64 * 1024 * 1024 * 1024)
    .default(256 * 1024 * 1024),
  /** Shared Redis (cache, coalescing across replicas, rate limits); unset means each replica keeps to itself. */
  TAOGATE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL')
    .optional(),
  /** The response cache, coalescing of identical requests and micro-batching (`off` to ask upstream every time). */
  TAOGATE_CACHE: onOff.default(true),
  TAOGATE_CACHE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024 * 1024)
    .default(64 * 1024 * 1024),
  /** How long a cacheable answer is kept, unless its subnet profile sets `cacheTtlSeconds`. */
  TAOGATE_CACHE_TTL_MS: z.coerce.number().int().min(0).max(604_800_000).default(300_000),
  /** Longest wait for one cache command to Redis; past it the request goes on without Redis. */
  TAOGATE_CACHE_REDIS_TIMEOUT_MS: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Lifetime of a replica's coalescing lock past its last renewal (a crashed leader is replaced after it). */
  TAOGATE_CACHE_LOCK_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  /** Namespace of the cache's Redis keys and channel. */
  TAOGATE_CACHE_PREFIX: z.string().min(1).max(200).default('taogate:cache:'),
  /** How long an embeddings request waits for others to share an upstream call with (0: same tick only). */
  TAOGATE_CACHE_BATCH_WINDOW_MS: z.coerce.number().min(0).max(1000).default(5),
  /** Most texts in one batched upstream call, below the subnet profile's own limit. */
  TAOGATE_CACHE_BATCH_MAX_INPUTS: z.coerce.number().int().min(1).max(65_536).default(256),
  /** Request line plus headers; more is 431. */
  TAOGATE_MAX_HEADER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(16 * 1024),
  /** A client must send its headers within this (slowloris); else 408. */
  TAOGATE_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** A client must send its whole request, body included, within this; else 408. */
  TAOGATE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** Most messages in one chat request. */
  TAOGATE_MAX_MESSAGES: z.coerce.number().int().min(1).max(1024).default(1024),
  /** Most output tokens one request may ask for (`max_tokens`, `max_completion_tokens`). */
  TAOGATE_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(1).max(1_000_000).default(131_072),
  /** Origins (exact, comma-separated) whose web pages may call the API; unset: no CORS at all. */
  TAOGATE_CORS_ORIGINS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .refine(
      (origins) => origins.every(isExactOrigin),
      'exact origins such as https://app.example.com, no * or paths',
    )
    .default([]),
  /** The payment ledger: `off` (no keys, nothing charged), `sqlite` (one machine) or `postgres` (replicas). */
  TAOGATE_LEDGER: z.enum(['off', 'sqlite', 'postgres']).default('off'),
  TAOGATE_LEDGER_PATH: z.string().min(1).default('.taogate/ledger.db'),
  /** PostgreSQL for TAOGATE_LEDGER=postgres; `?options=-c search_path=…` picks a schema. */
  TAOGATE_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// URL')
    .optional(),
  /** ss58 address apps pay TAO into; on localnet, a dev key's by default. Unset elsewhere: no deposits. */
  TAOGATE_DEPOSIT_ADDRESS: z
    .string()
    .refine((v) => checkAddress(v, 42)[0], 'an ss58 address (generic prefix 42, valid checksum)')
    .optional(),
  /** Blocks built on a transfer before it is credited. */
  TAOGATE_DEPOSIT_CONFIRMATIONS: z.coerce.number().int().min(0).max(10_000).default(12),
  /** This replica's name in the ledger; a restart under the same name releases its reservations at once. */
  TAOGATE_INSTANCE_ID: z
    .string()
    .regex(/^[\w.:-]{1,128}$/, 'letters, digits, . : _ -')
    .optional(),
  /** A replica silent for this long is gone: its reservations are released. */
  TAOGATE_LEDGER_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(15_000),
  /** Output tokens reserved for a request that sets no max_tokens (its charge never exceeds its reservation). */
  TAOGATE_LEDGER_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(1).max(1_000_000).default(4096),
  /** Requests per minute per API key (a key's own limit wins); 0: none. */
  TAOGATE_RATE_LIMIT_PER_KEY: z.coerce.number().int().min(0).max(10_000_000).default(0),
  /** Requests per minute per client IP on /v1; 0: none. */
  TAOGATE_RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).max(10_000_000).default(0),
  TAOGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** OpenTelemetry traces, exported as the standard OTEL_* variables say (OTLP by default). */
  TAOGATE_TRACING: onOff.default(false),
  /** Prometheus metrics at /metrics and the per-attempt observation behind them and the dashboard. */
  TAOGATE_METRICS: onOff.default(true),
});
