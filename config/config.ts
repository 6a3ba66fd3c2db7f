import type { z } from 'zod';
import type { CacheSettings } from '../cache/index.ts';
import type { RequestLimits } from '../gateway/request-limits.ts';
import type { ServerLimits } from '../gateway/server.ts';
import type { HedgeSettings, ResilienceSettings } from '../router/index.ts';
import { readHotkeyFile } from './hotkey-file.ts';
import { LOCALNET_HOTKEY, NETWORKS, settingsSchema } from './settings-schema.ts';

export interface GatewayConfig {
  host: string;
  port: number;
  network: 'localnet' | string;
  /** Where the chain is read from; for localnet, filled in once its node is up. */
  chainUrl: string | undefined;
  hotkeySecret: string;
  profilesPath: string;
  /** Named pipelines file; undefined when off. */
  pipelinesPath: string | undefined;
  /** Unset on localnet, whose miners get new ports every run. */
  snapshotPath: string | undefined;
  chainRefreshMs: number | undefined;
  deadlineMs: number;
  drainMs: number;
  maxAttempts: number;
  resilience: ResilienceSettings;
  /** Undefined when hedging is off. */
  hedge: HedgeSettings | undefined;
  maxFanout: number;
  maxBodyBytes: number;
  serverLimits: ServerLimits;
  requestLimits: RequestLimits;
  /** Empty: CORS off. */
  corsOrigins: string[];
  allowLoopbackAxons: boolean;
  allowPrivateAxons: boolean;
  dendriteIp: string;
  /** How clients reach the gateway; undefined: each request's own origin. */
  publicUrl: string | undefined;
  /** Generated images kept in process for `response_format: "url"`. */
  imageStore: { ttlMs: number; maxBytes: number };
  /** Shared Redis; undefined when unset. */
  redisUrl: string | undefined;
  cache: CacheSettings;
  reranker: {
    /** Undefined when disabled. */
    modelPath: string | undefined;
    tracesPath: string | undefined;
  };
  /** Payment ledger; undefined when off. */
  ledger: LedgerSettings | undefined;
  rateLimits: { perKeyPerMinute: number; perIpPerMinute: number };
  logLevel: z.infer<typeof settingsSchema>['TAOGATE_LOG_LEVEL'];
  /** OpenTelemetry tracing (the SDK is started by the process entry, bin/taogate.ts). */
  tracing: boolean;
  /** Metrics, per-attempt observation, the stats' traffic numbers and the dashboard. */
  metrics: boolean;
}

export interface LedgerSettings {
  store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  /** Undefined: a random id per start. */
  instanceId: string | undefined;
  leaseMs: number;
  defaultMaxOutputTokens: number;
  deposits: {
    /** Undefined outside localnet unless set: no deposits are watched. */
    address: string | undefined;
    confirmations: number;
  };
}

/** Every `TAOGATE_*` variable the gateway reads: config files and deploy manifests are checked against it. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[] };

/** Reads the gateway's settings from `TAOGATE_*` variables; every mistake is reported with its key. */
export function loadConfig(variables: Record<string, string | undefined> = process.env): ConfigResult {
  const parsed = settingsSchema.safeParse(variables);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    };
  }
  const v = parsed.data;
  const localnet = v.TAOGATE_NETWORK === 'localnet';
  if (v.TAOGATE_HOTKEY && v.TAOGATE_HOTKEY_FILE) {
    return {
      ok: false,
      errors: ['TAOGATE_HOTKEY_FILE: set either TAOGATE_HOTKEY or TAOGATE_HOTKEY_FILE, not both'],
    };
  }
  let hotkeySecret = v.TAOGATE_HOTKEY;
  if (v.TAOGATE_HOTKEY_FILE) {
    const read = readHotkeyFile(v.TAOGATE_HOTKEY_FILE);
    if (!read.ok) return { ok: false, errors: [`TAOGATE_HOTKEY_FILE: ${read.error}`] };
    hotkeySecret = read.secret;
  }
  if (!localnet && !hotkeySecret) {
    return {
      ok: false,
      errors: [
        'TAOGATE_HOTKEY: required outside localnet (a registered, staked validator hotkey), or TAOGATE_HOTKEY_FILE',
      ],
    };
  }
  if (v.TAOGATE_REQUEST_TIMEOUT_MS < v.TAOGATE_HEADERS_TIMEOUT_MS) {
    return {
      ok: false,
      errors: ['TAOGATE_REQUEST_TIMEOUT_MS: must not be below TAOGATE_HEADERS_TIMEOUT_MS'],
    };
  }
  if (v.TAOGATE_BREAKER_MAX_COOLDOWN_MS < v.TAOGATE_BREAKER_COOLDOWN_MS) {
    return {
      ok: false,
      errors: ['TAOGATE_BREAKER_MAX_COOLDOWN_MS: must not be below TAOGATE_BREAKER_COOLDOWN_MS'],
    };
  }
  if (v.TAOGATE_LEDGER === 'postgres' && !v.TAOGATE_DATABASE_URL) {
    return { ok: false, errors: ['TAOGATE_DATABASE_URL: required with TAOGATE_LEDGER=postgres'] };
  }
  const chainUrl = localnet
    ? undefined
    : (NETWORKS[v.TAOGATE_NETWORK as keyof typeof NETWORKS] ?? v.TAOGATE_NETWORK);
  const snapshotName = v.TAOGATE_NETWORK.replace(/[^\w.-]+/g, '_');
  return {
    ok: true,
    config: {
      host: v.TAOGATE_HOST,
      port: v.TAOGATE_PORT,
      network: v.TAOGATE_NETWORK,
      chainUrl,
      hotkeySecret: hotkeySecret ?? LOCALNET_HOTKEY,
      profilesPath: v.TAOGATE_PROFILES,
      pipelinesPath: v.TAOGATE_PIPELINES === 'off' ? undefined : v.TAOGATE_PIPELINES,
      snapshotPath: localnet ? undefined : `${v.TAOGATE_SNAPSHOT_DIR}/metagraph-${snapshotName}.json`,
      chainRefreshMs: v.TAOGATE_CHAIN_REFRESH_MS,
      deadlineMs: v.TAOGATE_DEADLINE_MS,
      drainMs: v.TAOGATE_DRAIN_MS,
      maxAttempts: v.TAOGATE_MAX_ATTEMPTS,
      resilience: {
        statsHalfLifeMs: v.TAOGATE_STATS_HALF_LIFE_MS,
        breaker: {
          failureThreshold: v.TAOGATE_BREAKER_FAILURES,
          cooldownMs: v.TAOGATE_BREAKER_COOLDOWN_MS,
          maxCooldownMs: v.TAOGATE_BREAKER_MAX_COOLDOWN_MS,
        },
        retryBudget: {
          ratio: v.TAOGATE_RETRY_BUDGET_RATIO,
          floor: v.TAOGATE_RETRY_BUDGET_FLOOR,
          windowMs: v.TAOGATE_RETRY_BUDGET_WINDOW_MS,
        },
        inFlight: {
          minerMaxInFlight: v.TAOGATE_MINER_MAX_IN_FLIGHT,
          subnetMaxInFlight: v.TAOGATE_SUBNET_MAX_IN_FLIGHT,
        },
        weighting: v.TAOGATE_ROUTING_WEIGHTS,
      },
      hedge: v.TAOGATE_HEDGE
        ? {
            quantile: v.TAOGATE_HEDGE_QUANTILE,
            minDelayMs: v.TAOGATE_HEDGE_MIN_MS,
            minSamples: v.TAOGATE_HEDGE_MIN_SAMPLES,
          }
        : undefined,
      maxFanout: v.TAOGATE_MAX_FANOUT,
      maxBodyBytes: v.TAOGATE_MAX_BODY_BYTES,
      serverLimits: {
        maxHeaderBytes: v.TAOGATE_MAX_HEADER_BYTES,
        headersTimeoutMs: v.TAOGATE_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: v.TAOGATE_REQUEST_TIMEOUT_MS,
      },
      requestLimits: { maxMessages: v.TAOGATE_MAX_MESSAGES, maxOutputTokens: v.TAOGATE_MAX_OUTPUT_TOKENS },
      corsOrigins: v.TAOGATE_CORS_ORIGINS,
      allowLoopbackAxons: v.TAOGATE_ALLOW_LOOPBACK_AXONS ?? localnet,
      allowPrivateAxons: v.TAOGATE_ALLOW_PRIVATE_AXONS,
      dendriteIp: v.TAOGATE_DENDRITE_IP,
      publicUrl: v.TAOGATE_PUBLIC_URL,
      imageStore: { ttlMs: v.TAOGATE_IMAGE_URL_TTL_S * 1000, maxBytes: v.TAOGATE_IMAGE_STORE_BYTES },
      redisUrl: v.TAOGATE_REDIS_URL,
      cache: {
        enabled: v.TAOGATE_CACHE,
        maxBytes: v.TAOGATE_CACHE_MAX_BYTES,
        ttlMs: v.TAOGATE_CACHE_TTL_MS,
        redisTimeoutMs: v.TAOGATE_CACHE_REDIS_TIMEOUT_MS,
        lockMs: v.TAOGATE_CACHE_LOCK_MS,
        prefix: v.TAOGATE_CACHE_PREFIX,
        batchWindowMs: v.TAOGATE_CACHE_BATCH_WINDOW_MS,
        batchMaxInputs: v.TAOGATE_CACHE_BATCH_MAX_INPUTS,
      },
      reranker: {
        modelPath: v.TAOGATE_RERANKER_MODEL === 'off' ? undefined : v.TAOGATE_RERANKER_MODEL,
        tracesPath: v.TAOGATE_RERANKER_TRACES,
      },
      ledger:
        v.TAOGATE_LEDGER === 'off'
          ? undefined
          : {
              store:
                v.TAOGATE_LEDGER === 'sqlite'
                  ? { kind: 'sqlite', path: v.TAOGATE_LEDGER_PATH }
                  : { kind: 'postgres', url: v.TAOGATE_DATABASE_URL! },
              instanceId: v.TAOGATE_INSTANCE_ID,
              leaseMs: v.TAOGATE_LEDGER_LEASE_MS,
              defaultMaxOutputTokens: v.TAOGATE_LEDGER_MAX_OUTPUT_TOKENS,
              deposits: {
                address: v.TAOGATE_DEPOSIT_ADDRESS,
                confirmations: v.TAOGATE_DEPOSIT_CONFIRMATIONS,
              },
            },
      rateLimits: {
        perKeyPerMinute: v.TAOGATE_RATE_LIMIT_PER_KEY,
        perIpPerMinute: v.TAOGATE_RATE_LIMIT_PER_IP,
      },
      logLevel: v.TAOGATE_LOG_LEVEL,
      tracing: v.TAOGATE_TRACING,
      metrics: v.TAOGATE_METRICS,
    },
  };
}
