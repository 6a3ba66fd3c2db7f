import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Handler, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { depositAddressOf, type Ledger, openLedger } from '../billing/index.ts';
import { type DepositWatcher, watchDeposits } from '../chain/index.ts';
import type { GatewayConfig, LedgerSettings } from '../config/index.ts';
import type { RoutableModel } from '../router/index.ts';
import { PIPELINE_MODEL_PREFIX, type Pipeline } from '../router/pipelines/index.ts';
import { authenticate } from './auth.ts';
import { createReplayGuard } from './auth-replay-guard.ts';
import type { RequestGuards } from './rate-limit.ts';
import { settlementRetries } from './settlement-retries.ts';
import { meterUsage } from './usage-metering.ts';
import { usageHandler } from './usage-route.ts';

/** How long an Idempotency-Key retry gets the first answer back (as Stripe and OpenAI keep theirs). */
const IDEMPOTENT_REPLAY_MS = 24 * 3600_000;

/** What the HTTP app mounts when the ledger is on. */
export interface Billing {
  ledger: Ledger;
  /** Who pays: an API key or a coldkey's signature; 401 otherwise. */
  authenticate: MiddlewareHandler;
  /** Reserve before, charge after: for every paid route, after `authenticate`. */
  charge: MiddlewareHandler;
  usage: Handler;
  depositAddress: string | undefined;
  close(): Promise<void>;
}

export interface BillingOptions {
  config: GatewayConfig;
  settings: LedgerSettings;
  catalog: ReadonlyMap<string, RoutableModel>;
  pipelines: ReadonlyMap<string, Pipeline> | undefined;
  /** The gateway's hotkey: signed requests name it as their receiver. */
  gatewayAddress: string;
  logger: Logger;
  /** Rate limiters and the Redis connection signed-request replay checks share. */
  guards: Pick<RequestGuards, 'redis' | 'createLimiter'>;
  spent?: (netuid: number, rao: bigint) => void;
}

/**
 * Opens the ledger, recovers the reservations of instances that died, keeps this instance's lease, watches
 * the chain for deposits, and builds the middleware that authenticates and charges requests.
 */
export async function startBilling(options: BillingOptions): Promise<Billing> {
  const { config, settings, logger } = options;
  const ledger = await openLedger(settings.store, logger);
  // The embedded store serves one gateway per machine, so the host name names it across restarts (and a
  // restart releases what a crash left at once); replicas sharing PostgreSQL each need a name of their own.
  const stableId = settings.instanceId ?? (settings.store.kind === 'sqlite' ? hostname() : undefined);
  const instanceId = stableId ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  const now = Date.now();
  await ledger.heartbeat(instanceId, now);
  const recovered = await ledger.releaseAbandoned({
    leaseMs: settings.leaseMs,
    nowMs: now,
    restartedInstance: stableId,
  });
  if (recovered > 0) logger.warn({ released: recovered }, 'released reservations left by a crashed instance');

  // The lease is renewed three times per lease period, so one slow write never lets it lapse.
  const heartbeat = setInterval(
    () => {
      ledger
        .heartbeat(instanceId, Date.now())
        .catch((error: unknown) => logger.warn({ err: error }, 'ledger heartbeat failed'));
    },
    Math.max(100, Math.floor(settings.leaseMs / 3)),
  );
  const sweep = setInterval(() => {
    ledger
      .releaseAbandoned({ leaseMs: settings.leaseMs, nowMs: Date.now() })
      .then((released) => {
        if (released > 0) logger.warn({ released }, 'released reservations of an instance that stopped');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'releasing abandoned reservations failed'));
    ledger
      .forgetStoredResponses(Date.now() - IDEMPOTENT_REPLAY_MS)
      .catch((error: unknown) => logger.warn({ err: error }, 'forgetting idempotent answers failed'));
  }, settings.leaseMs);
  heartbeat.unref();
  sweep.unref();

  const depositAddress = await depositAddressOf(config);
  let watcher: DepositWatcher | undefined;
  if (depositAddress && config.chainUrl) {
    const depositLogger = logger.child({ module: 'deposits' });
    watcher = watchDeposits({
      url: config.chainUrl,
      address: depositAddress,
      confirmations: settings.deposits.confirmations,
      logger: depositLogger,
      sink: {
        async credit(transfer) {
          const outcome = await ledger.creditDeposit({
            blockHash: transfer.blockHash,
            eventIndex: transfer.eventIndex,
            blockNumber: transfer.blockNumber,
            extrinsicIndex: transfer.extrinsicIndex,
            transferId: transfer.transferId,
            fromColdkey: transfer.from,
            amountRao: transfer.amountRao,
            nowMs: Date.now(),
          });
          if (outcome !== 'duplicate') {
            depositLogger.info(
              { from: transfer.from, rao: String(transfer.amountRao), block: transfer.blockNumber, outcome },
              'deposit received',
            );
          }
        },
        cursor: () => ledger.depositCursor(depositAddress),
        setCursor: (block) => ledger.setDepositCursor(depositAddress, block),
      },
    });
  }

  const rateLimiter = options.guards.createLimiter();
  const billingLogger = logger.child({ module: 'billing' });
  const retries = settlementRetries(billingLogger);
  const priceOf = (model: string) => {
    const profile = options.catalog.get(model)?.profile;
    return profile && { netuid: profile.netuid, price: profile.price, fallback: profile.fallback };
  };
  const modelsOf = (body: Record<string, unknown>): string[] => {
    if (Array.isArray(body.steps)) return body.steps.flatMap(stepModels);
    // POST /v1/pipelines/run: `pipeline` is a named pipeline or a whole definition.
    const run = body.pipeline;
    if (typeof run === 'string') return options.pipelines?.get(run)?.steps.flatMap(stepModels) ?? [];
    const inline = (run as { steps?: unknown } | null | undefined)?.steps;
    if (Array.isArray(inline)) return inline.flatMap(stepModels);
    if (typeof body.model !== 'string') return [];
    if (!body.model.startsWith(PIPELINE_MODEL_PREFIX)) return [body.model];
    const pipeline = options.pipelines?.get(body.model.slice(PIPELINE_MODEL_PREFIX.length));
    return pipeline ? pipeline.steps.flatMap(stepModels) : [];
  };

  return {
    ledger,
    depositAddress,
    authenticate: authenticate({
      ledger,
      gatewayAddress: options.gatewayAddress,
      rateLimiter,
      defaultRatePerMinute: config.rateLimits.perKeyPerMinute,
      replayGuard: createReplayGuard(options.guards.redis),
      logger: logger.child({ module: 'auth' }),
    }),
    charge: meterUsage({
      ledger,
      instanceId,
      priceOf,
      modelsOf,
      defaultMaxOutputTokens: settings.defaultMaxOutputTokens,
      depositAddress,
      maxStoredResponseBytes: 1024 * 1024,
      spent: options.spent,
      logger: billingLogger,
      retries,
    }),
    usage: usageHandler(ledger, depositAddress),
    async close() {
      clearInterval(heartbeat);
      clearInterval(sweep);
      retries.close();
      await watcher?.close();
      await rateLimiter.close();
      await ledger.close();
    },
  };
}

/** A pipeline step's models: its own and its fallback, both counted, as a failed step may ask both. */
function stepModels(step: unknown): string[] {
  if (typeof step !== 'object' || step === null) return [];
  const { model, fallback } = step as { model?: unknown; fallback?: unknown };
  if (typeof model !== 'string') return [];
  return typeof fallback === 'string' ? [model, fallback] : [model];
}
