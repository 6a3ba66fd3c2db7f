// What tracing and metrics cost on the hot path (issue #9): two gateways, identical but for telemetry, in
// processes of their own against one localnet, loaded in turn (off, on, off, on, …) so drift in the machine
// falls on both alike. "on" is the worst case an operator would run: every request traced (always-on
// sampler) and exported over OTLP/HTTP to a local sink, Prometheus metrics observed per request and per
// upstream attempt, /metrics scraped every 5 s. "off" is TAOGATE_TRACING=off, TAOGATE_METRICS=off.
//
//   npm run bench:telemetry
//   TELEMETRY_BENCH_SECONDS=10 TELEMETRY_BENCH_ROUNDS=3 TELEMETRY_BENCH_CONNECTIONS=32 npm run bench:telemetry
//   TELEMETRY_BENCH_ON=metrics npm run bench:telemetry     # one of the two alone
//
// Prints a table per scenario (JSON and SSE answers) and PASS/FAIL against ≤ 10% throughput overhead.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { summarizeCpuProfiles } from './bench-cpu-profile.ts';
import type { LoadMessage, LoadPlan, LoadResult } from './bench-load.ts';
import {
  firstMessage,
  freePort,
  killAllNow,
  startNode,
  stop,
  stopAll,
  waitForPort,
  watchProcess,
} from './bench-processes.ts';
import { markdownTable } from './bench-report.ts';

const here = (file: string) => new URL(file, import.meta.url).pathname;
const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = setting('TELEMETRY_BENCH_SECONDS', 5);
const WARMUP_SECONDS = setting('TELEMETRY_BENCH_WARMUP_SECONDS', 1);
const ROUNDS = setting('TELEMETRY_BENCH_ROUNDS', 2);
const CONNECTIONS = setting('TELEMETRY_BENCH_CONNECTIONS', 16);
const MAX_OVERHEAD = 0.1;
/** Prometheus scrapes every 15–60 s by default; 5 s is already a busy one. */
const SCRAPE_EVERY_MS = 5000;
/** A streaming synapse subnet: the full dendrite path (signing, SSE relay) the issue's numbers are about. */
const MODEL = process.env.TELEMETRY_BENCH_MODEL ?? 'sn18/cortex-chat';
/** What "on" turns on (`tracing`, `metrics` or both), to tell their costs apart. */
const ON = new Set((process.env.TELEMETRY_BENCH_ON ?? 'tracing,metrics').split(','));
/** A directory: both gateways write CPU profiles there, summarised at the end (where the cost goes). */
const CPU_PROFILE_DIR = process.env.TELEMETRY_BENCH_CPU_PROF;

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Stands in for an OpenTelemetry collector: takes OTLP/HTTP exports, counts them, answers 200. */
async function startOtlpSink() {
  let exports = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => {
      exports++;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ exports, bytes }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Gateway {
  mode: 'off' | 'on';
  url: string;
  pid: number;
}

async function startGateway(mode: Gateway['mode'], chainUrl: string, otlpUrl: string, workDir: string) {
  const port = await freePort();
  const child = startNode({
    name: `taogate (telemetry ${mode})`,
    args: [here('../bin/taogate.ts'), 'start'],
    nodeFlags: CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}/${mode}`] : [],
    env: {
      TAOGATE_NETWORK: chainUrl,
      TAOGATE_HOTKEY: '//taogate',
      TAOGATE_PORT: String(port),
      TAOGATE_SNAPSHOT_DIR: `${workDir}/snapshots-${mode}`,
      TAOGATE_ALLOW_LOOPBACK_AXONS: 'true',
      TAOGATE_LOG_LEVEL: 'warn',
      TAOGATE_CACHE: 'off',
      TAOGATE_PIPELINES: 'off',
      TAOGATE_TRACING: mode === 'on' && ON.has('tracing') ? 'on' : 'off',
      TAOGATE_METRICS: mode === 'on' && ON.has('metrics') ? 'on' : 'off',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
      OTEL_TRACES_SAMPLER: 'always_on',
    },
  });
  await waitForPort(port, child);
  const url = `http://127.0.0.1:${port}`;
  for (
    let tries = 0;
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ));
    tries++
  ) {
    // A port taken between freePort() and listen() kills the gateway while another server answers there.
    if (child.exitCode !== null) throw new Error(`taogate (telemetry ${mode}) exited before it was ready`);
    if (tries > 300) throw new Error(`taogate (telemetry ${mode}) never became ready`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { mode, url, pid: child.pid!, stop: () => stop(child) };
}

async function load(gateway: Gateway, stream: boolean) {
  const plan: LoadPlan = {
    url: `${gateway.url}/v1/chat/completions`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL,
      stream,
      messages: [{ role: 'user', content: 'How fast is this?' }],
    }),
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_SECONDS,
    durationSeconds: SECONDS,
    ttfbSeconds: 0,
  };
  const generator = startNode({
    name: 'load generator',
    args: [here('./bench-load.ts')],
    env: { BENCH_LOAD: JSON.stringify(plan) },
  });
  // Like Prometheus, only more often: scraping is part of what metrics cost.
  const scraper =
    gateway.mode === 'on' && ON.has('metrics')
      ? setInterval(() => void fetch(`${gateway.url}/metrics`).then((r) => r.text()), SCRAPE_EVERY_MS)
      : undefined;
  try {
    return await new Promise<{ load: LoadResult; cpuPercent: number }>((resolve, reject) => {
      let watch: ReturnType<typeof watchProcess> | undefined;
      let cpuPercent = Number.NaN;
      generator.on('message', (message: LoadMessage) => {
        if (message.kind === 'measuring') watch = watchProcess(gateway.pid);
        else if (message.kind === 'measured' && watch) cpuPercent = watch.stop().cpuPercent;
        else if (message.kind === 'result') resolve({ load: message.result, cpuPercent });
      });
      generator.once('exit', (code) => reject(new Error(`the load generator exited with ${code}`)));
    });
  } finally {
    clearInterval(scraper);
  }
}

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

const workDir = mkdtempSync(`${tmpdir()}/taogate-telemetry-bench-`);
const sink = await startOtlpSink();
let failed = false;
try {
  const localnet = startNode({
    name: 'localnet',
    args: [here('./bench-localnet.ts')],
    env: { UPSTREAM_DELAY_MS: process.env.TELEMETRY_BENCH_UPSTREAM_DELAY_MS ?? '0' },
  });
  const { chainUrl } = await firstMessage<{ chainUrl: string }>(localnet);
  const gateways = [
    await startGateway('off', chainUrl, sink.url, workDir),
    await startGateway('on', chainUrl, sink.url, workDir),
  ];
  process.stdout.write(
    `# Telemetry overhead: ${MODEL}, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${SECONDS} s per mode\n`,
  );
  for (const stream of [false, true]) {
    const runs = new Map<
      string,
      { rps: number[]; p50: number[]; p99: number[]; errors: number; cpu: number[] }
    >();
    for (let round = 0; round < ROUNDS; round++) {
      for (const gateway of gateways) {
        const { load: result, cpuPercent } = await load(gateway, stream);
        const run = runs.get(gateway.mode) ?? { rps: [], p50: [], p99: [], errors: 0, cpu: [] };
        run.rps.push(result.rps);
        run.p50.push(result.latencyMs.p50);
        run.p99.push(result.latencyMs.p99);
        run.errors += result.errors;
        run.cpu.push(cpuPercent);
        runs.set(gateway.mode, run);
      }
    }
    const off = runs.get('off')!;
    const on = runs.get('on')!;
    const overhead = 1 - mean(on.rps) / mean(off.rps);
    // CPU per request shows the hot path's cost even when the miners, not the gateway, limit throughput.
    const cpuMsPerRequest = (run: typeof off) => (mean(run.cpu) * 10) / mean(run.rps);
    const rows = [off, on].map((run, i) => [
      i === 0 ? 'off' : [...ON].join(' + '),
      fixed(mean(run.rps), 0),
      run.rps.map((rps) => fixed(rps, 0)).join(' / '),
      fixed(mean(run.p50), 2),
      fixed(mean(run.p99), 2),
      fixed(mean(run.cpu), 0),
      fixed(cpuMsPerRequest(run), 3),
      String(run.errors),
    ]);
    process.stdout.write(`\n## ${stream ? 'SSE stream' : 'JSON'} answers\n\n`);
    process.stdout.write(
      `${markdownTable(['telemetry', 'req/s', 'rounds', 'p50 ms', 'p99 ms', 'CPU %', 'CPU ms/req', 'errors'], rows)}\n`,
    );
    const pass = overhead <= MAX_OVERHEAD && on.errors === 0 && off.errors === 0;
    failed ||= !pass;
    process.stdout.write(
      `\n${pass ? 'PASS' : 'FAIL'}: throughput overhead ${(overhead * 100).toFixed(1)}% (limit ${MAX_OVERHEAD * 100}%), ` +
        `CPU per request ${fixed((cpuMsPerRequest(on) / cpuMsPerRequest(off) - 1) * 100, 1)}%` +
        `${on.errors + off.errors > 0 ? `, ${on.errors + off.errors} errors` : ''}\n`,
    );
  }
  const exported = sink.stats();
  process.stdout.write(
    `\nOTLP sink received ${exported.exports} exports (${(exported.bytes / 1024).toFixed(0)} KiB)\n`,
  );
  if (ON.has('tracing') && exported.exports === 0) {
    process.stdout.write('FAIL: no spans reached the OTLP sink: tracing was not on\n');
    failed = true;
  }
} finally {
  await stopAll();
  await sink.close();
  rmSync(workDir, { recursive: true, force: true });
}
if (CPU_PROFILE_DIR) {
  for (const mode of ['off', 'on']) {
    process.stdout.write(`\n## CPU profile, telemetry ${mode}\n\n`);
    process.stdout.write(`${summarizeCpuProfiles(`${CPU_PROFILE_DIR}/${mode}`, 3000, 20)}\n`);
  }
}
process.exit(failed ? 1 : 0);
