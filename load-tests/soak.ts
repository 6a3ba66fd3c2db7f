// `npm run soak`: the gateway, as `taogate start` in a process of its own, under steady load for
// TAOGATE_SOAK_SECONDS (default 300) against localnet where 30% of every subnet's miners are faulty (every
// fault localnet can stage, always or half the time), while the chain node, Redis and PostgreSQL go away and
// come back. Prints PASS/FAIL per acceptance criterion of issue #12 and exits 1 on any FAIL.
//
// Knobs: TAOGATE_SOAK_SECONDS, TAOGATE_SOAK_CONCURRENCY (16), TAOGATE_SOAK_MINERS (per subnet, 10),
// TAOGATE_SOAK_FAULTY_SHARE (0.3), TAOGATE_SOAK_STREAM_SHARE (0.25), TAOGATE_SOAK_LEDGER (sqlite|postgres|off,
// default sqlite), TAOGATE_SOAK_OUTAGES (on|off). Other TAOGATE_* variables are passed to the gateway.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type LedgerLocation, openLedger } from '../billing/index.ts';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { LOCALNET_HOTKEY, loadProfiles, type SubnetProfile } from '../config/index.ts';
import {
  type Localnet,
  type MinerBehaviour,
  STAGED_FAULTS,
  seededRandom,
  startLocalnet,
} from '../localnet/index.ts';
import { fundedAccount } from '../test/billing.ts';
import { type PrivateService, startPrivatePostgres, startPrivateRedis } from '../test/fault-services.ts';
import { connectHeapProbe, type MemorySample, rssOf, trendOf } from './soak-memory.ts';
import { runTraffic } from './soak-traffic.ts';

const env = (name: string, fallback: string) => process.env[`TAOGATE_SOAK_${name}`] ?? fallback;
const SECONDS = Number(env('SECONDS', '300'));
const CONCURRENCY = Number(env('CONCURRENCY', '16'));
const MINERS = Number(env('MINERS', '10'));
const FAULTY_SHARE = Number(env('FAULTY_SHARE', '0.3'));
const STREAM_SHARE = Number(env('STREAM_SHARE', '0.25'));
const LEDGER = env('LEDGER', 'sqlite') as 'sqlite' | 'postgres' | 'off';
const OUTAGES = env('OUTAGES', 'on') === 'on';
const DEADLINE_MS = 10_000;
const OUTAGE_MS = 4000;
const DEPOSIT_RAO = 10n ** 18n;
/**
 * Growth allowed between the two halves of the warm run, after a full collection: allocator noise. The
 * halves' middles are 40% of the run apart, so over 5 minutes these catch leaks of ~8 and ~4 MiB a minute.
 */
const RSS_GROWTH_ALLOWED_MB = 16;
const HEAP_GROWTH_ALLOWED_MB = 8;

const faulty = Math.round(MINERS * FAULTY_SHARE);
if (MINERS - faulty < 3) throw new Error(`${MINERS} miners with ${faulty} faulty leave fewer than 3 healthy`);

/**
 * Per subnet, `faulty` miners picked at random (seeded), each staging one fault, always or half the time,
 * in turn through every staged fault. Truncation is not staged on raw text streams (streaming synapses):
 * with no end marker, a cut stream is a short answer to any gateway (test/fault.e2e.test.ts shows the case).
 */
function faultPlan(
  profiles: readonly SubnetProfile[],
): (netuid: number, uid: number) => Partial<MinerBehaviour> | undefined {
  const plan = new Map<string, Partial<MinerBehaviour>>();
  let next = 0;
  for (const profile of profiles) {
    const rawStream = profile.protocol === 'synapse' && profile.synapse.streaming === true;
    const faults = STAGED_FAULTS.filter(([fault]) => !(rawStream && fault === 'truncated'));
    const random = seededRandom(profile.netuid);
    const uids = Array.from({ length: MINERS }, (_, i) => i + 1).sort(() => random() - 0.5);
    for (const uid of uids.slice(0, faulty)) {
      const [, field] = faults[next % faults.length]!;
      plan.set(`${profile.netuid}/${uid}`, { [field]: next % 2 === 0 ? 1 : 0.5 });
      next++;
    }
  }
  return (netuid, uid) => plan.get(`${netuid}/${uid}`);
}

const signed = (mb: number) => `${mb >= 0 ? '+' : ''}${mb.toFixed(1)}`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'taogate-soak-'));
  const profiles = loadProfiles();
  const models = profiles.filter((p) => p.task === 'chat').map((p) => `sn${p.netuid}/${p.models[0]}`);
  const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
  const mix = faultPlan(profiles);
  const localnet = await startLocalnet({
    profiles,
    validatorHotkey: validator.ss58,
    minersPerSubnet: MINERS,
    behaviour: mix,
  });
  const redis = await startPrivateRedis();
  const postgres = LEDGER === 'postgres' ? await startPrivatePostgres() : undefined;
  const ledgerAt: LedgerLocation | undefined =
    LEDGER === 'sqlite'
      ? { kind: 'sqlite', path: join(work, 'ledger.db') }
      : postgres
        ? { kind: 'postgres', url: postgres.url }
        : undefined;
  const payer = ledgerAt ? await openAccount(ledgerAt) : undefined;

  const gateway = await startGatewayProcess(localnet, redis, ledgerAt, work);
  console.log(
    `soak: ${SECONDS} s, ${CONCURRENCY} clients, ${models.length} chat subnets × ${MINERS} miners (${faulty} faulty each), ledger ${LEDGER}, outages ${OUTAGES ? 'on' : 'off'}`,
  );
  console.log(`gateway ${gateway.url} (pid ${gateway.child.pid})`);

  const started = Date.now();
  const until = started + SECONDS * 1000;
  const samples: MemorySample[] = [];
  const probe = await connectHeapProbe(gateway.inspectorUrl);
  let sampling: Promise<void> = Promise.resolve();
  const sample = () => {
    sampling = sampling.then(async () => {
      const heapMb = await probe.collectedHeapMb().catch(() => undefined);
      if (heapMb === undefined) return;
      const rssMb = rssOf(gateway.child.pid!);
      if (rssMb !== undefined)
        samples.push({ atSeconds: Math.round((Date.now() - started) / 1000), rssMb, heapMb });
    });
  };
  sample();
  const sampler = setInterval(sample, Math.max(5000, (SECONDS * 1000) / 40));
  let storeDown = false;
  const outages = OUTAGES ? scheduleOutages(localnet, redis, postgres, (down) => (storeDown = down)) : [];

  const traffic = await runTraffic({
    baseURL: `${gateway.url}/v1`,
    models,
    concurrency: CONCURRENCY,
    until,
    streamShare: STREAM_SHARE,
    apiKey: payer?.key,
    hangAfterMs: DEADLINE_MS + 5000,
    storeDown: () => storeDown,
    random: seededRandom(12),
  });
  clearInterval(sampler);
  sample();
  await sampling;
  for (const timer of outages) clearTimeout(timer);
  await Promise.all([
    localnet.chain.startListening(),
    redis.running || redis.start(),
    postgres && !postgres.running ? postgres.start() : undefined,
  ]);

  // With an inspector attached, a process that died waits for it to leave instead of exiting.
  const exitedEarly =
    gateway.child.exitCode !== null || gateway.stderr().includes('Waiting for the debugger');
  probe.close();
  gateway.child.kill('SIGTERM');
  const [exitCode] = exitedEarly ? [gateway.child.exitCode] : await once(gateway.child, 'exit');

  console.log('\nmemory after a full GC (s: RSS MiB / heap MiB):');
  console.log(samples.map((s) => `${s.atSeconds}: ${s.rssMb.toFixed(0)}/${s.heapMb.toFixed(0)}`).join('  '));
  const rss = trendOf(samples.map((s) => ({ atSeconds: s.atSeconds, mb: s.rssMb })));
  const heap = trendOf(samples.map((s) => ({ atSeconds: s.atSeconds, mb: s.heapMb })));
  const judged = traffic.sent - traffic.refusedDuringOutage;
  const successRate = judged > 0 ? traffic.succeeded / judged : 0;
  console.log(
    `\nrequests ${traffic.sent}: ${traffic.succeeded} succeeded, ${traffic.refusedDuringOutage} refused with 503 (store or ledger unavailable) while a store was down on purpose (not counted), ${traffic.hangs} hangs`,
  );
  for (const [kind, count] of [...traffic.failures].sort((a, b) => b[1] - a[1]))
    console.log(`  failed: ${kind} × ${count}`);
  console.log(
    `after warm-up: RSS slope ${rss.slopeMbPerMin.toFixed(2)} MiB/min, growth ${signed(rss.growthMb)} MiB; heap slope ${heap.slopeMbPerMin.toFixed(2)} MiB/min, growth ${signed(heap.growthMb)} MiB`,
  );

  const verdicts: [string, boolean | undefined, string][] = [
    ['success rate ≥ 99.5%', successRate >= 0.995, `${(successRate * 100).toFixed(3)}% of ${judged}`],
    ['0 unhandled rejections', gateway.unhandledRejections() === 0, `${gateway.unhandledRejections()}`],
    [
      '0 crashes',
      !exitedEarly && exitCode === 0,
      exitedEarly ? `exited during the run (${gateway.child.exitCode})` : `exit ${exitCode} after SIGTERM`,
    ],
    ['0 hangs', traffic.hangs === 0, `${traffic.hangs}`],
    [
      'RSS flat',
      rss.growthMb <= RSS_GROWTH_ALLOWED_MB && heap.growthMb <= HEAP_GROWTH_ALLOWED_MB,
      `RSS ${signed(rss.growthMb)} MiB (≤ +${RSS_GROWTH_ALLOWED_MB}), heap ${signed(heap.growthMb)} MiB (≤ +${HEAP_GROWTH_ALLOWED_MB}), first half → second half after warm-up`,
    ],
  ];
  if (payer && ledgerAt) verdicts.push(await ledgerVerdict(ledgerAt, payer.accountId, traffic.costRao));
  else verdicts.push(['ledger balances exactly', undefined, 'TAOGATE_SOAK_LEDGER=off']);
  console.log('');
  for (const [criterion, pass, detail] of verdicts) {
    console.log(`${pass === undefined ? 'SKIP' : pass ? 'PASS' : 'FAIL'}  ${criterion}: ${detail}`);
  }
  if (verdicts.some(([, pass]) => pass === false)) process.exitCode = 1;
  if (gateway.unhandledRejections() > 0 || exitedEarly) console.log(gateway.stderr().slice(-4000));

  await localnet.close();
  await redis.close();
  await postgres?.close();
  rmSync(work, { recursive: true, force: true });
}

/** An account with a large deposit and one API key, made straight in the ledger the gateway will use. */
async function openAccount(at: LedgerLocation): Promise<{ accountId: string; key: string }> {
  const ledger = await openLedger(at, pino({ level: 'silent' }));
  try {
    const { account, secret } = await fundedAccount(ledger, DEPOSIT_RAO);
    return { accountId: account.id, key: secret };
  } finally {
    await ledger.close();
  }
}

/** Credits minus every committed charge is the balance, nothing is left reserved, and clients were told what was charged. */
async function ledgerVerdict(
  at: LedgerLocation,
  accountId: string,
  toldRao: bigint,
): Promise<[string, boolean, string]> {
  const ledger = await openLedger(at, pino({ level: 'silent' }));
  try {
    const account = await ledger.account(accountId);
    const rows = await ledger.usage({ accountId });
    const charged = rows.reduce((sum, row) => sum + row.costRao, 0n);
    const requests = rows.reduce((sum, row) => sum + row.requests, 0);
    const pending = await ledger.pendingReservations(accountId);
    const balanced =
      account?.balanceRao === DEPOSIT_RAO - charged && account.reservedRao === 0n && pending === 0;
    const detail = `deposit ${DEPOSIT_RAO} − charged ${charged} (${requests} requests) = ${DEPOSIT_RAO - charged}; balance ${account?.balanceRao}, reserved ${account?.reservedRao}, pending ${pending}; clients told ${toldRao}`;
    return ['ledger balances exactly', balanced && toldRao === charged, detail];
  } finally {
    await ledger.close();
  }
}

/** The chain node, Redis and PostgreSQL each go away for a few seconds, at a quarter, half and three quarters in. */
function scheduleOutages(
  localnet: Localnet,
  redis: PrivateService,
  postgres: PrivateService | undefined,
  setStoreDown: (down: boolean) => void,
): NodeJS.Timeout[] {
  const at = (fraction: number, run: () => Promise<void>) =>
    setTimeout(() => void run(), SECONDS * 1000 * fraction);
  const outage = (stop: () => Promise<void>, start: () => Promise<void>, store: boolean) => async () => {
    if (store) setStoreDown(true);
    await stop();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await start();
    // Clients already refused stay refused; a moment more covers answers in flight.
    setTimeout(() => store && setStoreDown(false), 1000);
  };
  const timers = [
    at(
      0.25,
      outage(
        async () => {
          localnet.chain.disconnectAll();
          await localnet.chain.stopListening();
        },
        () => localnet.chain.startListening(),
        false,
      ),
    ),
    at(
      0.5,
      outage(
        () => redis.stop(),
        () => redis.start(),
        false,
      ),
    ),
  ];
  if (postgres)
    timers.push(
      at(
        0.75,
        outage(
          () => postgres.stop(),
          () => postgres.start(),
          true,
        ),
      ),
    );
  return timers;
}

interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Its V8 inspector (`--inspect` on a free loopback port), for collecting garbage before memory samples. */
  inspectorUrl: string;
  unhandledRejections(): number;
  stderr(): string;
}

/** `taogate start` against localnet's chain node, as an operator runs it; warnings instead of crashes for rejections, so they can be counted. */
async function startGatewayProcess(
  localnet: Localnet,
  redis: PrivateService,
  ledger: LedgerLocation | undefined,
  work: string,
): Promise<GatewayProcess> {
  const passed = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k.startsWith('TAOGATE_') && !k.startsWith('TAOGATE_SOAK_')),
  );
  const flags = ['--unhandled-rejections=warn', '--inspect=127.0.0.1:0'];
  const child = spawn(process.execPath, [...flags, 'bin/taogate.ts', 'start'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH,
      TAOGATE_NETWORK: localnet.chain.url,
      TAOGATE_HOTKEY: LOCALNET_HOTKEY,
      TAOGATE_ALLOW_LOOPBACK_AXONS: 'true',
      TAOGATE_SNAPSHOT_DIR: join(work, 'snapshots'),
      TAOGATE_PORT: '0',
      TAOGATE_LOG_LEVEL: 'warn',
      TAOGATE_DEADLINE_MS: String(DEADLINE_MS),
      TAOGATE_REDIS_URL: redis.url,
      TAOGATE_CACHE_PREFIX: `soak:${process.pid}:`,
      TAOGATE_LEDGER: ledger?.kind ?? 'off',
      ...(ledger?.kind === 'sqlite' ? { TAOGATE_LEDGER_PATH: ledger.path } : {}),
      ...(ledger?.kind === 'postgres' ? { TAOGATE_DATABASE_URL: ledger.url } : {}),
      ...passed,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  let rejections = 0;
  child.stderr!.on('data', (chunk: Buffer) => {
    rejections += chunk.toString().match(/UnhandledPromiseRejection/g)?.length ?? 0;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = /serving at (http:\/\/\S+)\/v1/.exec(stdout)?.[1];
      if (found) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(found);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the gateway exited (${code}) before serving:\n${stdout}\n${stderr}`)),
    );
  });
  const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
  if (!inspectorUrl) throw new Error(`the gateway's inspector did not say where it listens:\n${stderr}`);
  return { url, child, inspectorUrl, unhandledRejections: () => rejections, stderr: () => stderr };
}

await main();
