/**
 * Scale-out on one machine (`npm run scale-out`): localnet plus three `taogate start` processes on their own
 * ports sharing one Redis (cache, coalescing) and one PostgreSQL (the ledger). It measures throughput with
 * one replica and with three, checks the shared cache and coalescing across replicas, then SIGKILLs one
 * replica and SIGTERMs another under load and checks that no acknowledged request was lost and that the
 * ledger balances to the rao. Knobs: SCALE_OUT_SECONDS (per load phase, default 5), SCALE_OUT_CONCURRENCY
 * (default 24), SCALE_OUT_REDIS_URL, SCALE_OUT_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { LOCALNET_HOTKEY, loadProfiles } from '../config/index.ts';
import { type Localnet, startLocalnet } from '../localnet/index.ts';
import { spawnGateway } from '../test/gateway-process.ts';
import { TEST_DATABASE } from '../test/postgres.ts';
import {
  checkCoalescing,
  checkLedgerBalances,
  checkNothingLost,
  checkSharedCache,
  type Verdict,
  verdict,
} from './scale-out-checks.ts';
import { type LoadReport, percentile, type Replica, runLoad, sleep } from './scale-out-load.ts';
import { prepareSharedStores, type SharedStores } from './scale-out-stores.ts';

const SECONDS = Number(process.env.SCALE_OUT_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.SCALE_OUT_CONCURRENCY ?? 24);
const REDIS_URL = process.env.SCALE_OUT_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.SCALE_OUT_DATABASE_URL ?? TEST_DATABASE;
const LEASE_MS = 2000;
const DRAIN_MS = 2000;
const MODEL = 'sn1/apex-chat';
/** sn4's miners answer after 400 ms here, so identical requests overlap and can be coalesced. */
const SLOW_NETUID = 4;
/** /proc's CPU time unit (USER_HZ): 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

const say = (line: string) => process.stdout.write(`${line}\n`);
const run = randomBytes(4).toString('hex');
const cleanups: (() => Promise<unknown>)[] = [];
const verdicts: Verdict[] = [];

try {
  await main();
} catch (error) {
  verdicts.push(verdict('run completed', false, (error as Error).stack ?? String(error)));
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
const failed = verdicts.some((v) => v.verdict !== 'PASS');
say('');
for (const { name, verdict, detail } of verdicts) say(`${verdict}  ${name}: ${detail}`);
say(`\nscale-out: ${failed ? 'FAIL' : 'PASS'}`);
process.exit(failed ? 1 : 0);

async function main(): Promise<void> {
  const stores = await prepareSharedStores({ redisUrl: REDIS_URL, databaseUrl: DATABASE_URL, run, cleanups });
  for (const missing of stores.unavailable) say(`unavailable: ${missing}`);
  const apiKey = stores.ledger?.apiKey;
  const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
  const localnet = await startLocalnet({
    profiles: loadProfiles(),
    validatorHotkey: validator.ss58,
    blockMs: 500,
    behaviour: (netuid) => (netuid === SLOW_NETUID ? { latencyMs: 400, jitterMs: 0 } : undefined),
  });
  cleanups.push(() => localnet.close());
  const startReplica = replicaStarter(localnet, stores);

  say(
    `scale-out: ${availableParallelism()} CPUs, ${CONCURRENCY} clients, ${SECONDS} s per phase, run ${run}`,
  );
  // Each measured phase follows a second of unmeasured load, so fresh processes are warm (JIT, pools).
  const reports: LoadReport[] = [];
  const cpu = new Map<LoadReport, PhaseCpu>();
  const measure = async (phase: string, replicas: Replica[]) => {
    const load = (seconds: number, name: string) =>
      runLoad({
        replicas,
        seconds,
        concurrency: CONCURRENCY,
        request: (worker, n) => ({
          model: MODEL,
          prompt: `${name} ${run} ${worker} ${n}`,
          stream: false,
          apiKey,
        }),
      });
    reports.push(await load(1, `warm-${phase}`));
    const before = { gateways: gatewaysCpuSeconds(replicas), script: process.cpuUsage() };
    const measured = await load(SECONDS, phase);
    cpu.set(measured, {
      gateways: gatewaysCpuSeconds(replicas) - before.gateways,
      script: totalSeconds(process.cpuUsage(before.script)),
    });
    reports.push(measured);
    return measured;
  };
  const first = await startReplica('replica-1');
  const one = await measure('one', [first]);
  const [second, third] = await Promise.all([startReplica('replica-2'), startReplica('replica-3')]);
  const replicas = [first, second, third];
  const three = await measure('three', replicas);
  printThroughput(one, three, cpu);

  let checkRequests = 0;
  if (stores.redis) {
    const cached = await checkSharedCache(replicas, MODEL, `shared cache ${run}`, apiKey);
    const slowSubnet = localnet.subnets().find((subnet) => subnet.netuid === SLOW_NETUID)!;
    const slowMiners = slowSubnet.neurons
      .filter((neuron) => neuron.axon !== null)
      .map((neuron) => localnet.miner(SLOW_NETUID, neuron.uid));
    const model = `sn${SLOW_NETUID}/${loadProfiles().find((p) => p.netuid === SLOW_NETUID)!.models[0]}`;
    const coalesced = await checkCoalescing(replicas, slowMiners, {
      model,
      prompt: `coalesce ${run}`,
      apiKey,
    });
    verdicts.push(cached.verdict, coalesced.verdict);
    checkRequests = cached.requests + coalesced.requests;
  } else {
    verdicts.push(verdict('shared cache across replicas', undefined, 'needs Redis and TAOGATE_REDIS_URL'));
    verdicts.push(verdict('coalescing across replicas', undefined, 'needs Redis and TAOGATE_REDIS_URL'));
  }

  const failures = await loadWithFailures(replicas, apiKey);
  if (stores.ledger) {
    verdicts.push(await checkNothingLost(first, failures.acknowledged));
    verdicts.push(
      await checkLedgerBalances(
        stores.ledger.ledger,
        stores.ledger.accountId,
        [...reports, failures],
        checkRequests,
        LEASE_MS,
      ),
    );
  } else {
    const why = 'needs PostgreSQL and TAOGATE_LEDGER=postgres';
    verdicts.push(verdict('no acknowledged request lost', undefined, why));
    verdicts.push(verdict('ledger balances exactly', undefined, why));
  }
}

/** Starts `taogate start` processes against localnet, all on the shared stores. */
function replicaStarter(localnet: Localnet, stores: SharedStores) {
  const env: Record<string, string> = { TAOGATE_DRAIN_MS: String(DRAIN_MS) };
  if (stores.redis) {
    env.TAOGATE_REDIS_URL = REDIS_URL;
    env.TAOGATE_CACHE_PREFIX = stores.cachePrefix;
    // Production's 100 ms Redis budget assumes a quiet box; on two cores shared with localnet, the load and
    // other work, a late answer makes a replica skip the shared lock and ask the miner itself (correct, but
    // not what the coalescing check measures).
    env.TAOGATE_CACHE_REDIS_TIMEOUT_MS = '1000';
  }
  if (stores.ledger) {
    env.TAOGATE_LEDGER = 'postgres';
    env.TAOGATE_DATABASE_URL = stores.ledger.url;
    env.TAOGATE_LEDGER_LEASE_MS = String(LEASE_MS);
  }
  return async (name: string): Promise<Replica> => {
    const gateway = await spawnGateway({
      chainUrl: localnet.chain.url,
      env: { ...env, TAOGATE_INSTANCE_ID: name },
    });
    cleanups.push(async () => {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    });
    return { name, gateway, up: true };
  };
}

/** Load with half the requests streaming: replica 2 is SIGKILLed a third of the way in, replica 3 SIGTERMed half way. */
async function loadWithFailures(replicas: Replica[], apiKey: string | undefined): Promise<LoadReport> {
  const [, killed, terminated] = replicas as [Replica, Replica, Replica];
  let signalled = 0;
  const report = await runLoad({
    replicas,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    request: (worker, n) => ({
      model: MODEL,
      prompt: `failures ${run} worker ${worker} request ${n}`,
      stream: n % 2 === 0,
      apiKey,
      idempotencyKey: `${run}-${worker}-${n}`,
    }),
    onTick: (elapsed) => {
      if (signalled === 0 && elapsed >= SECONDS / 3) {
        signalled++;
        killed.gateway.child.kill('SIGKILL');
      }
      if (signalled === 1 && elapsed >= SECONDS / 2) {
        signalled++;
        terminated.gateway.child.kill('SIGTERM');
      }
    },
  });
  const exit = await Promise.race([terminated.gateway.exited, sleep(DRAIN_MS + 5000).then(() => undefined)]);
  say(
    `failures: ${report.sent} requests, ${report.acknowledged.length} acknowledged, ${report.retries} retried ` +
      `(${report.networkErrors} connection errors, ${report.cutStreams} streams cut by the drain), ` +
      `${report.abandoned} given up`,
  );
  verdicts.push(
    verdict(
      'SIGTERMed replica drained and exited cleanly',
      exit?.code === 0,
      exit ? `exit code ${exit.code ?? exit.signal}` : `still running ${DRAIN_MS + 5000} ms after SIGTERM`,
    ),
    verdict(
      'every request answered after retries',
      report.abandoned === 0,
      `${report.abandoned} of ${report.sent} given up`,
    ),
  );
  return report;
}

/** CPU seconds a phase took: the gateway processes, and this script (load generator and localnet). */
interface PhaseCpu {
  gateways: number;
  script: number;
}

function printThroughput(one: LoadReport, three: LoadReport, cpu: Map<LoadReport, PhaseCpu>): void {
  const rate = (report: LoadReport) => report.acknowledged.length / report.seconds;
  const line = (label: string, report: LoadReport) => {
    const used = cpu.get(report);
    const perRequest = used ? (1000 * used.gateways) / report.acknowledged.length : Number.NaN;
    say(
      `${label}: ${rate(report).toFixed(0)} req/s, p50 ${percentile(report.latenciesMs, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(report.latenciesMs, 99).toFixed(1)} ms (${report.acknowledged.length} answered); ` +
        `CPU: gateways ${used?.gateways.toFixed(2)} s (${perRequest.toFixed(2)} ms/request), ` +
        `load generator + localnet ${used?.script.toFixed(2)} s, in ${report.seconds.toFixed(1)} s`,
    );
  };
  line('1 replica ', one);
  line('3 replicas', three);
  const busy = (report: LoadReport) =>
    ((cpu.get(report)?.gateways ?? Number.NaN) / report.seconds).toFixed(2);
  say(
    `throughput ×${(rate(three) / rate(one)).toFixed(2)} with 3 replicas; the gateways kept ${busy(one)} → ` +
      `${busy(three)} of ${availableParallelism()} CPUs busy, beside localnet and the load generator ` +
      `(machine load average ${loadavg()[0]!.toFixed(1)}). With fewer cores than processes, the ratio follows ` +
      'the CPU the gateways were given, not the replica count.',
  );
  verdicts.push(
    verdict(
      'throughput measured with 1 and 3 replicas',
      rate(one) > 0 && rate(three) > 0,
      `${rate(one).toFixed(0)} → ${rate(three).toFixed(0)} req/s`,
    ),
  );
}

/** User + system CPU seconds the replicas' processes have used so far (Linux /proc; NaN elsewhere). */
function gatewaysCpuSeconds(replicas: Replica[]): number {
  let ticks = 0;
  for (const { gateway } of replicas) {
    try {
      const fields = readFileSync(`/proc/${gateway.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // utime and stime are fields 14 and 15 of stat; the split after the command name starts at field 3.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return Number.NaN;
    }
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

function totalSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}
