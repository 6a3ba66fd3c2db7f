// What a pipeline costs over the upstream time it cannot avoid (issue #7): three steps on three subnets
// (sn1 → sn18 → sn4, each step reading the one before), localnet miners with fixed service times, 32
// pipelines at a time. In one run it measures
//   (a) the steps' upstream service times, summed: the three calls made straight to miners, one after
//       another, signed by the same adapters the gateway uses (no gateway);
//   (b) the pipeline through taogate: one `pipeline/bench` chat completion;
//   (c) the same three calls one after another by a client through taogate (three chat completions);
// and checks (b) ≤ 1.10 × (a) at p50 and ≤ 1.25 × (a) at p99. The three take turns a second at a time.
//
// localnet runs in a child process and the gateway in another (`bin/taogate.ts start`), so miners verifying
// signatures, the gateway and this load generator do not share one event loop.
//
//   npm run bench:pipeline                       10 s per scenario after 2 s of warm-up
//   PIPELINE_BENCH_SECONDS=3 PIPELINE_BENCH_CONCURRENCY=32 PIPELINE_BENCH_SERVICE_MS=40,60,50 npm run bench:pipeline
//   PIPELINE_BENCH_CPU_PROF=/tmp/prof npm run bench:pipeline   also writes the gateway's CPU profile
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { type ChatAdapter, createSynapseAdapter, type MinerTarget } from '../adapters/index.ts';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { LOCALNET_HOTKEY, loadProfiles, type SubnetProfile } from '../config/index.ts';
import { startLocalnet } from '../localnet/index.ts';

const STEPS = [
  { netuid: 1, model: 'sn1/apex-chat' },
  { netuid: 18, model: 'sn18/cortex-chat' },
  { netuid: 4, model: 'sn4/targon-chat' },
] as const;
const MINERS_PER_SUBNET = 4;

const seconds = Number(process.env.PIPELINE_BENCH_SECONDS ?? 10);
const warmupSeconds = Number(process.env.PIPELINE_BENCH_WARMUP_SECONDS ?? 2);
const concurrency = Number(process.env.PIPELINE_BENCH_CONCURRENCY ?? 32);
const serviceMs = (process.env.PIPELINE_BENCH_SERVICE_MS ?? '40,60,50').split(',').map(Number);

interface LocalnetReady {
  chainUrl: string;
  miners: MinerTarget[];
}

/** The child: localnet for the three subnets, every miner answering after its subnet's fixed service time. */
async function serveLocalnet(): Promise<void> {
  const profiles = loadProfiles(process.env.TAOGATE_PROFILES);
  const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
  const localnet = await startLocalnet({
    profiles,
    validatorHotkey: validator.ss58,
    minersPerSubnet: MINERS_PER_SUBNET,
    behaviour: (netuid) => ({
      latencyMs: serviceMs[STEPS.findIndex((step) => step.netuid === netuid)] ?? 0,
      jitterMs: 0,
      chunkDelayMs: 0,
    }),
  });
  const miners = localnet.subnets().flatMap((subnet) =>
    subnet.neurons.flatMap((neuron) =>
      neuron.axon
        ? [
            {
              netuid: subnet.netuid,
              uid: neuron.uid,
              hotkey: neuron.hotkey,
              ip: '127.0.0.1',
              port: neuron.axon.port,
            },
          ]
        : [],
    ),
  );
  process.send?.({ chainUrl: localnet.chain.url, miners } satisfies LocalnetReady);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'taogate-bench-pipeline-'));
  const children: ChildProcess[] = [];
  try {
    const profiles = benchProfiles();
    const profilesPath = join(dir, 'subnets.json');
    writeFileSync(profilesPath, JSON.stringify({ subnets: profiles }));
    const pipelinesPath = join(dir, 'pipelines.json');
    writeFileSync(pipelinesPath, JSON.stringify(benchPipeline()));

    const localnetChild = startNode([new URL(import.meta.url).pathname, '--localnet'], {
      TAOGATE_PROFILES: profilesPath,
    });
    children.push(localnetChild);
    const [ready] = (await once(localnetChild, 'message')) as [LocalnetReady];

    const port = await freePort();
    // PIPELINE_BENCH_CPU_PROF=<dir>: the gateway writes a V8 CPU profile there when it exits.
    const profileDir = process.env.PIPELINE_BENCH_CPU_PROF;
    const profileFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const gatewayChild = startNode(
      [...profileFlags, new URL('../bin/taogate.ts', import.meta.url).pathname, 'start'],
      {
        TAOGATE_NETWORK: ready.chainUrl,
        TAOGATE_HOTKEY: LOCALNET_HOTKEY,
        TAOGATE_ALLOW_LOOPBACK_AXONS: 'true',
        TAOGATE_SNAPSHOT_DIR: dir,
        TAOGATE_PROFILES: profilesPath,
        TAOGATE_PIPELINES: pipelinesPath,
        TAOGATE_PORT: String(port),
        TAOGATE_LOG_LEVEL: 'warn',
      },
    );
    children.push(gatewayChild);
    const gateway = `http://127.0.0.1:${port}`;
    await untilReady(gateway);

    const client = new Agent({ connections: concurrency * 2, keepAliveTimeout: 30_000 });
    const scenarios = {
      direct: directChain(profiles, ready.miners),
      pipeline: pipelineThroughGateway(gateway, client),
      chained: clientChainThroughGateway(gateway, client),
    };
    process.stdout.write(
      `pipeline benchmark: ${STEPS.map((s, i) => `${s.model} ${serviceMs[i]} ms`).join(' → ')}, ` +
        `${concurrency} concurrent, ${seconds} s per scenario\n`,
    );
    for (const scenario of Object.values(scenarios)) await measure(scenario, warmupSeconds);
    // Scenarios take turns a second at a time, so load from outside the benchmark falls on all three alike.
    const results = Object.fromEntries(Object.keys(scenarios).map((name) => [name, emptyMeasured()]));
    for (let round = 0; round < Math.ceil(seconds / ROUND_SECONDS); round++) {
      for (const [name, scenario] of Object.entries(scenarios)) {
        const cpuBefore = cpuMs(gatewayChild.pid!);
        const round = await measure(scenario, ROUND_SECONDS);
        round.gatewayCpuMs = cpuMs(gatewayChild.pid!) - cpuBefore;
        addTo(results[name]!, round);
      }
    }
    report(results.direct!, results.pipeline!, results.chained!);
    await client.close();
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The shipped profiles of the three subnets, without fallbacks to subnets this localnet does not run. */
function benchProfiles(): SubnetProfile[] {
  return loadProfiles()
    .filter((profile) => STEPS.some((step) => step.netuid === profile.netuid))
    .map((profile) => ({ ...profile, fallback: [] }));
}

function benchPipeline() {
  return {
    pipelines: {
      bench: {
        steps: STEPS.map((step, index) => ({
          id: `s${index}`,
          model: step.model,
          input: index === 0 ? '{{input}}' : `{{steps.s${index - 1}.output}}`,
        })),
      },
    },
  };
}

/** One operation: resolves with the composed answer, to check. */
type Operation = (input: string) => Promise<string>;

/** (a): the three upstream calls, straight to miners, one after another. */
function directChain(profiles: SubnetProfile[], miners: MinerTarget[]): Operation {
  return async (input) => {
    const hotkey = await hotkeyPromise;
    adapters ??= new Map(
      profiles.map((profile) => {
        if (profile.protocol !== 'synapse') throw new Error(`sn${profile.netuid} is not a synapse subnet`);
        const adapter = createSynapseAdapter({
          synapse: profile.synapse,
          hotkey,
          dendriteIp: '127.0.0.1',
          dispatcher: upstream,
        });
        return [profile.netuid, adapter];
      }),
    );
    let text = input;
    for (const step of STEPS) {
      const pool = miners.filter((miner) => miner.netuid === step.netuid);
      const target = pool[next++ % pool.length]!;
      const answer = await adapters
        .get(step.netuid)!
        .chat(
          target,
          { messages: [{ role: 'user', content: text }] },
          { signal: AbortSignal.timeout(10_000), timeoutMs: 10_000 },
        );
      text = '';
      for await (const chunk of answer) text += chunk;
    }
    return text;
  };
}
const hotkeyPromise = hotkeyFromSecret(LOCALNET_HOTKEY);
const upstream = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
let adapters: Map<number, ChatAdapter> | undefined;
let next = 0;

/** (b): one chat completion of `pipeline/bench`. */
function pipelineThroughGateway(gateway: string, client: Agent): Operation {
  return (input) => chatCompletion(gateway, client, 'pipeline/bench', input);
}

/** (c): the three steps as three chat completions, each sent once the one before has answered. */
function clientChainThroughGateway(gateway: string, client: Agent): Operation {
  return async (input) => {
    let text = input;
    for (const step of STEPS) text = await chatCompletion(gateway, client, step.model, text);
    return text;
  };
}

async function chatCompletion(
  gateway: string,
  client: Agent,
  model: string,
  content: string,
): Promise<string> {
  const response = await request(`${gateway}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: client,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
  const body = (await response.body.json()) as {
    choices?: { message: { content: string } }[];
    taogate?: { steps: { start_ms: number; ms: number }[] };
  };
  if (body.taogate) noteStepTimes(body.taogate.steps, response.headers['server-timing']);
  if (response.statusCode !== 200)
    throw new Error(`${model}: ${response.statusCode} ${JSON.stringify(body)}`);
  return body.choices![0]!.message.content;
}

const COMPOSED = /^sn4 miner \d heard: sn18 miner \d heard: sn1 miner \d heard: q\d+$/;

interface Measured {
  latencies: number[];
  /** CPU time the gateway process spent meanwhile (user + system). */
  gatewayCpuMs: number;
  failures: number;
  wrong: number;
  seconds: number;
}

/** `concurrency` closed-loop workers for `forSeconds`; every answer is checked for the composed text. */
async function measure(operation: Operation, forSeconds: number): Promise<Measured> {
  const latencies: number[] = [];
  let failures = 0;
  let wrong = 0;
  const started = performance.now();
  const until = started + forSeconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const input = `q${next++}`;
      const began = performance.now();
      try {
        const answer = await operation(input);
        latencies.push(performance.now() - began);
        if (!COMPOSED.test(answer)) wrong++;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    latencies: latencies.sort((a, b) => a - b),
    gatewayCpuMs: 0,
    failures,
    wrong,
    seconds: (performance.now() - started) / 1000,
  };
}

const ROUND_SECONDS = 1;

/** Inside the gateway, per pipeline: the steps' own time, and the time between one step's end and the next's start. */
const insideGateway = { steps: [] as number[], between: [] as number[], request: [] as number[] };

function noteStepTimes(steps: { start_ms: number; ms: number }[], timing: unknown): void {
  // The telemetry middleware's `gateway;dur=`: the whole request as the gateway saw it.
  const whole = typeof timing === 'string' ? /(?:^|, )gateway;dur=([\d.]+)/.exec(timing) : null;
  if (whole) insideGateway.request.push(Number(whole[1]));
  insideGateway.steps.push(steps.reduce((sum, step) => sum + step.ms, 0));
  let between = 0;
  for (let index = 1; index < steps.length; index++) {
    between += steps[index]!.start_ms - (steps[index - 1]!.start_ms + steps[index - 1]!.ms);
  }
  insideGateway.between.push(between);
}

function emptyMeasured(): Measured {
  return { latencies: [], gatewayCpuMs: 0, failures: 0, wrong: 0, seconds: 0 };
}

function addTo(total: Measured, round: Measured): void {
  total.latencies = [...total.latencies, ...round.latencies].sort((a, b) => a - b);
  total.failures += round.failures;
  total.gatewayCpuMs += round.gatewayCpuMs;
  total.wrong += round.wrong;
  total.seconds += round.seconds;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function report(direct: Measured, pipeline: Measured, chained: Measured): void {
  const row = (label: string, m: Measured) =>
    `${label.padEnd(44)} ${String(m.latencies.length).padStart(6)} ${(m.latencies.length / m.seconds).toFixed(0).padStart(7)}` +
    ` ${quantile(m.latencies, 0.5).toFixed(1).padStart(8)} ${quantile(m.latencies, 0.99).toFixed(1).padStart(8)}` +
    ` ${String(m.failures + m.wrong).padStart(7)} ${(m.gatewayCpuMs / Math.max(1, m.latencies.length)).toFixed(2).padStart(12)}\n`;
  const nominal = serviceMs.reduce((sum, ms) => sum + ms, 0);
  process.stdout.write(
    `\n${'scenario'.padEnd(44)} ${'done'.padStart(6)} ${'per s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'gateway CPU'.padStart(12)}\n` +
      row(`(a) upstream service times, summed (${nominal} nominal)`, direct) +
      row('(b) pipeline through taogate', pipeline) +
      row('(c) three calls in turn through taogate', chained),
  );
  const steps = [...insideGateway.steps].sort((a, b) => a - b);
  const between = [...insideGateway.between].sort((a, b) => a - b);
  const request = [...insideGateway.request].sort((a, b) => a - b);
  process.stdout.write(
    `(b) inside the gateway: steps summed p50 ${quantile(steps, 0.5).toFixed(1)} ms, p99 ${quantile(steps, 0.99).toFixed(1)} ms;` +
      ` between steps p50 ${quantile(between, 0.5).toFixed(2)} ms, p99 ${quantile(between, 0.99).toFixed(2)} ms;` +
      ` the whole request p50 ${quantile(request, 0.5).toFixed(1)} ms, p99 ${quantile(request, 0.99).toFixed(1)} ms\n` +
      'gateway CPU: milliseconds of gateway CPU per operation\n',
  );
  const checks = [
    ['p50', 0.5, 1.1],
    ['p99', 0.99, 1.25],
  ] as const;
  let pass = pipeline.failures + pipeline.wrong === 0;
  for (const [name, q, limit] of checks) {
    const ratio = quantile(pipeline.latencies, q) / quantile(direct.latencies, q);
    const ok = ratio <= limit;
    pass &&= ok;
    const chainedRatio = quantile(chained.latencies, q) / quantile(direct.latencies, q);
    process.stdout.write(
      `${ok ? 'PASS' : 'FAIL'} ${name}: (b)/(a) = ${ratio.toFixed(3)} (target ≤ ${limit}); (c)/(a) = ${chainedRatio.toFixed(3)}\n`,
    );
  }
  if (pipeline.failures + pipeline.wrong > 0) {
    process.stdout.write(`FAIL: ${pipeline.failures} failed and ${pipeline.wrong} wrong pipeline answers\n`);
  }
  process.stdout.write(`${pass ? 'PASS' : 'FAIL'} overall\n`);
  process.exitCode = pass ? 0 : 1;
}

/** A Node child that exits when this process does (its IPC channel closes), however this one ends. */
function startNode(args: string[], env: Record<string, string>): ChildProcess {
  const exitWithParent = `data:text/javascript,process.on('disconnect',()=>process.exit(0))`;
  const child = spawn(process.execPath, ['--import', exitWithParent, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  child.once('exit', (code) => {
    if (code) process.stderr.write(`bench: ${args.join(' ')} exited with ${code}\n`);
  });
  return child;
}

/** A process's CPU time so far (user + system), from /proc: how much work the gateway did, whatever the load. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function untilReady(gateway: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${gateway}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the gateway at ${gateway} did not become ready`);
}

if (process.argv[2] === '--localnet') await serveLocalnet();
else await main();
