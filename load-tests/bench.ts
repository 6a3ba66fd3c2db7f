// Side-by-side load test (#11): the mock OpenAI upstream called directly, through the thinnest Node proxy,
// through taogate (full path: routing, metrics, no cache), through the Portkey gateway, and taogate's
// dendrite path to localnet axons; at upstream delays 0 and 50 ms, JSON and SSE, 32 and 256 connections.
// Every server and the load generator run in processes of their own on loopback; ratios within one run are
// what count on a shared machine. Prints a table per scenario and the targets as PASS/FAIL, and writes
// the rows as JSON to load-tests/results/. See load-tests/README.md for the options.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { summarizeCpuProfiles } from './bench-cpu-profile.ts';
import type { LoadMessage, LoadPlan, LoadResult } from './bench-load.ts';
import { killAllNow, startNode, stopAll, watchProcess } from './bench-processes.ts';
import { type Row, scenarioTable } from './bench-report.ts';
import { measureSigning, signingLines } from './bench-signing.ts';
import { runSoak, soakReport } from './bench-soak.ts';
import { type RunningTarget, startUpstream, TARGETS, type TargetKind } from './bench-targets.ts';
import { verdictLines, verdicts } from './bench-verdicts.ts';

const here = (file: string) => new URL(file, import.meta.url).pathname;
const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);
const numbers = (text: string) => list(text).map(Number);

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: process.env.TARGETS ?? TARGETS.map((t) => t.name).join(',') },
    delays: { type: 'string', default: process.env.DELAYS ?? '0,50' },
    connections: { type: 'string', default: process.env.CONNS ?? '32,256' },
    stream: { type: 'string', default: process.env.STREAM ?? '0,1' },
    duration: { type: 'string', default: process.env.DURATION ?? '10' },
    warmup: { type: 'string', default: process.env.WARMUP ?? '2' },
    ttfb: { type: 'string', default: process.env.TTFB ?? '' },
    profile: { type: 'boolean', default: process.env.PROFILE === '1' },
    'gateway-flags': { type: 'string', default: process.env.GATEWAY_FLAGS ?? '' },
    soak: { type: 'boolean', default: process.env.SOAK === '1' },
    'soak-seconds': { type: 'string', default: process.env.SOAK_SECONDS ?? '300' },
    out: { type: 'string', default: process.env.OUT },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`npm run bench -- [--targets ${TARGETS.map((t) => t.name).join(',')}] [--delays 0,50]
  [--connections 32,256] [--stream 0,1] [--duration 10] [--warmup 2] [--ttfb SECONDS] [--profile] [--gateway-flags=--max-semi-space-size=16] [--soak [--soak-seconds 300]]
  [--out FILE]   (or the env vars TARGETS, DELAYS, CONNS, STREAM, DURATION, WARMUP, TTFB, PROFILE=1, GATEWAY_FLAGS, SOAK=1, SOAK_SECONDS, OUT)\n`);
  process.exit(0);
}

const chosen = list(values.targets).map((name) => {
  const kind = TARGETS.find((t) => t.name === name);
  if (!kind) throw new Error(`unknown target '${name}': one of ${TARGETS.map((t) => t.name).join(', ')}`);
  return kind;
});
const durationSeconds = Number(values.duration);
const warmupSeconds = Number(values.warmup);
const ttfbSeconds = values.ttfb ? Number(values.ttfb) : Math.max(1, Math.round(durationSeconds / 3));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = here('./results');
const workDir = `${resultsDir}/work-${stamp}`;
const profileDir = `${resultsDir}/profiles-${stamp}`;
mkdirSync(workDir, { recursive: true });

// Every process we started goes with us: on Ctrl-C, on a failure, and (SIGKILL) through their IPC guard.
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping every process\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

const requestBody = (model: string, stream: boolean) =>
  JSON.stringify({
    model,
    messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
    temperature: 0,
    ...(stream ? { stream: true } : {}),
  });

/** Per gateway process: how long after its start the first measured load began (its profile's start-up). */
const profileSkipMs = new Map<number, number>();

/** One load run against one target, with the target's CPU and RSS over the measured phase. */
async function measure(
  target: RunningTarget,
  stream: boolean,
  connections: number,
  seconds = durationSeconds,
) {
  const plan: LoadPlan = {
    url: target.url,
    headers: target.headers,
    body: requestBody(target.model, stream),
    connections,
    warmupSeconds,
    durationSeconds: seconds,
    ttfbSeconds: stream ? ttfbSeconds : 0,
  };
  const generator = startNode({
    name: 'load generator',
    args: [here('./bench-load.ts')],
    env: { BENCH_LOAD: JSON.stringify(plan) },
  });
  return new Promise<{ load: LoadResult; cpuPercent: number; peakRssMb: number }>((resolve, reject) => {
    let watch: ReturnType<typeof watchProcess> | undefined;
    let usage = { cpuPercent: Number.NaN, peakRssMb: Number.NaN };
    generator.on('message', (message: LoadMessage) => {
      if (message.kind === 'measuring') {
        watch = watchProcess(target.pid);
        if (target.startedAt !== undefined && !profileSkipMs.has(target.pid))
          profileSkipMs.set(target.pid, performance.now() - target.startedAt);
      } else if (message.kind === 'measured' && watch) usage = watch.stop();
      else if (message.kind === 'result') resolve({ load: message.result, ...usage });
    });
    generator.once('exit', (code) =>
      reject(new Error(`the load generator exited with ${code} before reporting`)),
    );
  });
}

async function runMatrix(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const delayMs of numbers(values.delays)) {
    const upstream = await startUpstream(delayMs);
    const running: [TargetKind, RunningTarget][] = [];
    for (const kind of chosen)
      running.push([kind, await kind.start({ upstream, workDir, gatewayNodeFlags })]);
    for (const stream of numbers(values.stream).map(Boolean)) {
      for (const connections of numbers(values.connections)) {
        process.stdout.write(
          `\n## upstream ${delayMs} ms, ${stream ? 'SSE stream' : 'JSON'}, ${connections} connections, ${durationSeconds} s\n\n`,
        );
        const scenarioRows: Row[] = [];
        for (const [kind, target] of running) {
          const measured = await measure(target, stream, connections);
          scenarioRows.push({ target: kind.name, delayMs, stream, connections, ...measured });
        }
        process.stdout.write(`${scenarioTable(scenarioRows)}\n`);
        rows.push(...scenarioRows);
      }
    }
    for (const [, target] of running) await target.stop();
    await upstream.stop();
  }
  return rows;
}

/** Node flags for taogate's processes: the operator's choice, plus the profiler when asked. */
const gatewayNodeFlags = [
  ...list(values['gateway-flags']),
  ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
];

const machine = `${process.platform}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
process.stdout.write(`taogate bench — ${machine}\n`);

try {
  if (values.soak) {
    const soak = await runSoak({
      kind: chosen.find((t) => t.name === 'taogate') ?? chosen[0]!,
      seconds: Number(values['soak-seconds']),
      connections: numbers(values.connections)[0] ?? 32,
      workDir,
      gatewayNodeFlags,
      measure,
    });
    process.stdout.write(
      `\n## soak: ${soak.target}, ${soak.seconds} s\n\n${soakReport(soak)}\n\n${verdictLines(soak.verdicts)}\n`,
    );
    writeResults({ kind: 'soak', machine, soak });
  } else {
    const signing = await measureSigning();
    const rows = await runMatrix();
    process.stdout.write(
      `\n## signing (sr25519, one per dendrite request; measured alone, one core)\n\n${signingLines(signing, rows)}\n`,
    );
    const judged = verdicts(rows);
    process.stdout.write(
      `\n## targets (taogate, against the rows above)\n\n${judged.length ? verdictLines(judged) : 'no taogate rows: nothing to judge'}\n`,
    );
    const profiles = values.profile ? summarizeCpuProfiles(profileDir, profileSkipMs) : undefined;
    if (profiles) process.stdout.write(`\n## gateway CPU profile: top self time\n\n${profiles}\n`);
    writeResults({
      kind: 'matrix',
      machine,
      durationSeconds,
      warmupSeconds,
      rows,
      signing,
      verdicts: judged,
    });
  }
} finally {
  await stopAll();
  // Generated profiles and snapshots; CPU profiles (--profile) stay in their own directory.
  rmSync(workDir, { recursive: true, force: true });
}

function writeResults(result: Record<string, unknown>): void {
  const path = values.out ?? `${resultsDir}/bench-${stamp}.json`;
  writeFileSync(path, `${JSON.stringify({ at: new Date().toISOString(), ...result }, null, 2)}\n`);
  process.stdout.write(`\nresults: ${path}\n`);
}
