import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import { createAdapterRegistry } from '../adapters/index.ts';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { createGatewayCache } from '../cache/index.ts';
import { createChainSource, type MetagraphSource } from '../chain/index.ts';
import { DEFAULT_PIPELINES_PATH, type GatewayConfig, loadProfiles } from '../config/index.ts';
import { buildCatalog, createChatRouter, createMinerRanking } from '../router/index.ts';
import { loadPipelines, stepKindsOf } from '../router/pipelines/index.ts';
import {
  createAttemptObserver,
  createGatewayMetrics,
  createMinerBuckets,
  observedAdapters,
} from '../telemetry/index.ts';
import { createGatewayApp } from './app.ts';
import { createDrain } from './drain.ts';
import { startImageStore } from './image-store.ts';
import { startRequestGuards } from './rate-limit.ts';
import type { ReadinessCheck } from './readiness.ts';
import { listen } from './server.ts';
import { type Billing, startBilling } from './usage-ledger.ts';

export interface Gateway {
  url: string;
  /** The HTTP app itself, for in-process requests (`app.request(…)` in tests and fuzzing). */
  app: Hono;
  hotkey: string;
  source: MetagraphSource;
  /** Drains requests and streams in flight for up to `drainMs` (default: none), then closes everything. */
  close(drainMs?: number): Promise<void>;
}

const SETTLE_AFTER_CUT_MS = 5000;

/** Wires config → chain reader → adapters → router → HTTP, and starts listening. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  if (!config.chainUrl) throw new Error('no chain URL: start localnet first, or set TAOGATE_NETWORK');
  const profiles = loadProfiles(config.profilesPath);
  const hotkey = await hotkeyFromSecret(config.hotkeySecret);
  // Stores (ledger, Redis) push a check here as they are built; /readyz reports each by name.
  const readinessChecks: ReadinessCheck[] = [];
  const drain = createDrain();
  const source = createChainSource({
    url: config.chainUrl,
    snapshotPath: config.snapshotPath,
    refreshMs: config.chainRefreshMs,
    // OpenAI-compatible upstreams are listed in their profiles, not read from the chain.
    netuids: profiles.filter((p) => p.protocol !== 'openai').map((p) => p.netuid),
    logger: logger.child({ module: 'chain' }),
  });
  // As many connections per miner or endpoint as calls it may have in flight: fewer, and undici would
  // queue calls out of sight (one OpenAI-compatible endpoint at 50 ms was capped at 64 / 50 ms = 1280 req/s).
  const connections = config.resilience.inFlight.minerMaxInFlight;
  const dispatcher = new Agent({ connections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 });
  const dialPolicy = { allowLoopback: config.allowLoopbackAxons, allowPrivate: config.allowPrivateAxons };
  const adapters = createAdapterRegistry({
    hotkey,
    dendriteIp: config.dendriteIp,
    dispatcher,
    dialPolicy,
    connections,
  });
  const adapterFor = adapters.adapterFor;
  const ranking = createMinerRanking(config.reranker, logger.child({ module: 'reranker' }));
  const metrics = createGatewayMetrics();
  // Upstream calls are observed at the adapter seam (metrics, spans, Server-Timing): routing carries none of it.
  const observe =
    config.metrics || config.tracing
      ? createAttemptObserver({
          metrics: config.metrics ? metrics : undefined,
          minerBucket: createMinerBuckets(source),
          tracing: config.tracing,
        })
      : undefined;
  const router = createChatRouter({
    source,
    adapterFor: observe ? observedAdapters(adapterFor, observe) : adapterFor,
    profiles,
    ownHotkey: hotkey.ss58,
    dialPolicy,
    maxAttempts: config.maxAttempts,
    resilience: { ...config.resilience, ranking },
    hedge: config.hedge,
    maxFanout: config.maxFanout,
    onRefused: (netuid, refused) =>
      logger.warn(
        { netuid, uid: refused.uid, ip: refused.ip, reason: refused.reason },
        'refusing to dial axon',
      ),
  });
  metrics.watchSubnets({ netuids: profiles.map((p) => p.netuid), miners: (netuid) => router.stats(netuid) });
  const cache = createGatewayCache({
    settings: config.cache,
    redisUrl: config.redisUrl,
    logger: logger.child({ module: 'cache' }),
    metrics,
  });
  metrics.watchCache(cache.stats);
  await cache.connected();
  // Reported, not required: without Redis the cache works per replica and no request fails.
  if (config.redisUrl) {
    readinessChecks.push({
      name: 'redis',
      critical: false,
      check: async () => cache.stats().redis?.connected === true,
    });
  }
  const images = startImageStore(config.imageStore, config.redisUrl, logger.child({ module: 'images' }));
  const catalog = buildCatalog(profiles);
  // The shipped pipelines are localnet examples: with other profiles, those they cannot run are left out.
  const skipInvalid =
    config.pipelinesPath === DEFAULT_PIPELINES_PATH
      ? (problem: string) => logger.warn(`pipeline left out: ${problem}`)
      : undefined;
  const pipelines = config.pipelinesPath
    ? loadPipelines(config.pipelinesPath, stepKindsOf(catalog), skipInvalid)
    : undefined;
  const guards = startRequestGuards(config, logger);
  const billing: Billing | undefined = config.ledger
    ? await startBilling({
        config,
        settings: config.ledger,
        catalog,
        pipelines,
        gatewayAddress: hotkey.ss58,
        logger,
        guards,
        spent: (netuid, rao) => metrics.spent(netuid, rao),
      })
    : undefined;
  if (billing) readinessChecks.push({ name: 'ledger', check: () => billing.ledger.ping().then(() => true) });
  const { app, front } = createGatewayApp({
    billing,
    ipRateLimit: guards.ipRateLimit,
    catalog,
    pipelines,
    profiles,
    router,
    source,
    logger,
    metrics,
    cache,
    deadlineMs: config.deadlineMs,
    maxBodyBytes: config.maxBodyBytes,
    requestLimits: config.requestLimits,
    corsOrigins: config.corsOrigins,
    readinessChecks,
    drain,
    telemetry: { tracing: config.tracing, metrics: config.metrics },
    imageStore: images.store,
    publicUrl: config.publicUrl,
  });
  const server = await listen(app, config.port, config.host, config.serverLimits, front);
  return {
    url: server.url,
    app,
    hotkey: hotkey.ss58,
    source,
    async close(drainMs = 0) {
      drain.begin();
      await server.close(drainMs, () => drain.cutNow());
      // Handlers cut at the drain timeout may still be settling their reservations: let them, briefly,
      // before the stores close under them.
      await drain.settled(SETTLE_AFTER_CUT_MS);
      await Promise.all([
        source.close(),
        dispatcher.close(),
        adapters.close(),
        ranking.close(),
        cache.close(),
        images.close(),
        billing?.close(),
        guards.close(),
      ]);
    },
  };
}
