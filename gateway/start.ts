import type { Logger } from 'pino';
import { Agent } from 'undici';
import { type ChatAdapter, createEpistulaAdapter, createSynapseAdapter } from '../adapters/index.ts';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { createGatewayCache } from '../cache/index.ts';
import { createChainSource, type MetagraphSource } from '../chain/index.ts';
import { type GatewayConfig, loadProfiles, type SubnetProfile } from '../config/index.ts';
import { buildCatalog, createChatRouter, createMinerRanking } from '../router/index.ts';
import { loadPipelines } from '../router/pipelines/index.ts';
import { createGatewayMetrics } from '../telemetry/index.ts';
import { createGatewayApp } from './app.ts';
import { createDrain } from './drain.ts';
import type { ReadinessCheck } from './readiness.ts';
import { stepKindsOf } from './pipeline-step-models.ts';
import { listen } from './server.ts';

export interface Gateway {
  url: string;
  hotkey: string;
  source: MetagraphSource;
  /** Drains requests and streams in flight for up to `drainMs` (default: none), then closes everything. */
  close(drainMs?: number): Promise<void>;
}

const SETTLE_AFTER_CUT_MS = 2000;

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
    netuids: profiles.map((p) => p.netuid),
    logger: logger.child({ module: 'chain' }),
  });
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 });
  const adapters = new Map<number, ChatAdapter>();
  const adapterFor = (profile: SubnetProfile): ChatAdapter => {
    let adapter = adapters.get(profile.netuid);
    if (!adapter) {
      adapter =
        profile.protocol === 'synapse'
          ? createSynapseAdapter({
              synapse: profile.synapse,
              hotkey,
              dendriteIp: config.dendriteIp,
              dispatcher,
            })
          : createEpistulaAdapter({ model: profile.openai.model, hotkey, dispatcher });
      adapters.set(profile.netuid, adapter);
    }
    return adapter;
  };
  const ranking = createMinerRanking(config.reranker, logger.child({ module: 'reranker' }));
  const router = createChatRouter({
    source,
    adapterFor,
    ownHotkey: hotkey.ss58,
    dialPolicy: { allowLoopback: config.allowLoopbackAxons, allowPrivate: config.allowPrivateAxons },
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
  const metrics = createGatewayMetrics();
  const cache = createGatewayCache({
    settings: config.cache,
    redisUrl: config.redisUrl,
    logger: logger.child({ module: 'cache' }),
    metrics,
  });
  await cache.connected();
  const catalog = buildCatalog(profiles);
  const pipelines = config.pipelinesPath
    ? loadPipelines(config.pipelinesPath, stepKindsOf(catalog))
    : undefined;
  const app = createGatewayApp({
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
    readinessChecks,
    drain,
  });
  const server = await listen(app, config.port, config.host);
  return {
    url: server.url,
    hotkey: hotkey.ss58,
    source,
    async close(drainMs = 0) {
      drain.begin();
      await server.close(drainMs, () => drain.cutNow());
      // Handlers cut at the drain timeout may still be settling their reservations: let them, briefly,
      // before the stores close under them.
      await drain.settled(SETTLE_AFTER_CUT_MS);
      await Promise.all([source.close(), dispatcher.close(), ranking.close(), cache.close()]);
    },
  };
}
