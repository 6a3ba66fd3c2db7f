// What tracing and metrics cost on the hot path (issue #9): two gateways, identical but for telemetry, in
// processes of their own against one localnet, loaded in turn so drift in the machine falls on both alike.
// Rounds alternate in pairs, off-on then on-off (ABBA), so neither mode always runs second; each mode's
// figure is its median round, which one disturbed round (another process on a shared machine) cannot move
// the way it moves a mean. "on" is the worst case an operator would run: every request traced (always-on
// sampler) and exported over OTLP/HTTP (protobuf, the SDK's default; encoded and sent by the gateway's export
// worker thread, whose CPU counts in the gateway's CPU per request) to a local sink, Prometheus metrics
// observed per request and per upstream attempt, /metrics scraped every 5 s. "off" is TAOGATE_TRACING=off,
// TAOGATE_METRICS=off.
//
//   npm run bench:telemetry
//   TELEMETRY_BENCH_SECONDS=10 TELEMETRY_BENCH_ROUNDS=7 TELEMETRY_BENCH_CONNECTIONS=32 npm run bench:telemetry
//   TELEMETRY_BENCH_ON=metrics npm run bench:telemetry     # one of the two alone
//   TELEMETRY_BENCH_CPU_PROF=/tmp/prof npm run bench:telemetry   # and where the CPU goes, per mode
//   TELEMETRY_BENCH_ANSWERS=sse npm run bench:telemetry      # streamed answers only (or json)
//
// Prints a table per scenario (JSON and SSE answers) with CPU time per request next to throughput, and
// PASS/FAIL against ≤ 10% throughput overhead (median round against median round).
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
const SECONDS = setting('TELEMETRY_BENCH_SECONDS', 4);
const WARMUP_SECONDS = setting('TELEMETRY_BENCH_WARMUP_SECONDS', 1);
/** Rounds per mode and scenario: several short ones give the median something to choose from. */
const ROUNDS = setting('TELEMETRY_BENCH_ROUNDS', 5);
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
/** Which answers to load (`json`, `sse` or both), e.g. to profile one of them alone. */
const ANSWERS = new Set((process.env.TELEMETRY_BENCH_ANSWERS ?? 'json,sse').split(','));

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/**
 * Stands in for an OpenTelemetry collector: takes OTLP/HTTP protobuf exports, counts them and their spans,
 * answers 200.
 */
async function startOtlpSink() {
  let exports = 0;
  let bytes = 0;
  let spans = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      exports++;
      bytes += body.length;
      spans += spansIn(body);
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ exports, bytes, spans }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Spans in an ExportTraceServiceRequest: its resource_spans (field 1) hold scope_spans (field 2), which hold
 * spans (field 2). Walks just those length-delimited fields of the protobuf wire format.
 */
function spansIn(message: Uint8Array): number {
  const fields = (bytes: Uint8Array, wanted: number): Uint8Array[] => {
    const found: Uint8Array[] = [];
    let at = 0;
    const varint = () => {
      let value = 0;
      for (let shift = 0; ; shift += 7) {
        const byte = bytes[at++]!;
        value += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) return value;
      }
    };
    while (at < bytes.length) {
      const tag = varint();
      const wireType = tag & 7;
      if (wireType === 0) varint();
      else if (wireType === 1) at += 8;
      else if (wireType === 5) at += 4;
      else if (wireType === 2) {
        const length = varint();
        if (tag >>> 3 === wanted) found.push(bytes.subarray(at, at + length));
        at += length;
      } else throw new Error(`unexpected protobuf wire type ${wireType}`);
    }
    return found;
  };
  return fields(message, 1)
    .flatMap((resourceSpans) => fields(resourceSpans, 2))
    .reduce((sum, scopeSpans) => sum + fields(scopeSpans, 2).length, 0);
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

/** The middle value (the mean of the two middle ones for an even count). */
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

interface Rounds {
  rps: number[];
  p50: number[];
  p99: number[];
  cpuPercent: number[];
  /** Gateway CPU time per request served: the hot path's cost even when the miners limit throughput. */
  cpuMsPerRequest: number[];
  errors: number;
}

/** Off-on, on-off, off-on, …: each mode goes first in half the pairs. */
function roundOrder<T>(round: number, [off, on]: readonly [T, T]): T[] {
  return round % 2 === 0 ? [off, on] : [on, off];
}

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
  ] as const;
  process.stdout.write(
    `# Telemetry overhead: ${MODEL}, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds × ${SECONDS} s ` +
      'per mode; figures are each mode’s median round\n',
  );
  for (const stream of [false, true].filter((stream) => ANSWERS.has(stream ? 'sse' : 'json'))) {
    const runs = {
      off: { rps: [], p50: [], p99: [], cpuPercent: [], cpuMsPerRequest: [], errors: 0 } as Rounds,
      on: { rps: [], p50: [], p99: [], cpuPercent: [], cpuMsPerRequest: [], errors: 0 } as Rounds,
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const gateway of roundOrder(round, gateways)) {
        const { load: result, cpuPercent } = await load(gateway, stream);
        const run = runs[gateway.mode];
        run.rps.push(result.rps);
        run.p50.push(result.latencyMs.p50);
        run.p99.push(result.latencyMs.p99);
        run.cpuPercent.push(cpuPercent);
        run.cpuMsPerRequest.push((cpuPercent * 10) / result.rps);
        run.errors += result.errors;
      }
    }
    const { off, on } = runs;
    const overhead = 1 - median(on.rps) / median(off.rps);
    const cpuOverhead = median(on.cpuMsPerRequest) / median(off.cpuMsPerRequest) - 1;
    const rows = [off, on].map((run, i) => [
      i === 0 ? 'off' : [...ON].join(' + '),
      fixed(median(run.rps), 0),
      run.rps.map((rps) => fixed(rps, 0)).join(' / '),
      fixed(median(run.p50), 2),
      fixed(median(run.p99), 2),
      fixed(median(run.cpuPercent), 0),
      fixed(median(run.cpuMsPerRequest), 3),
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
        `CPU per request +${fixed(cpuOverhead * 100, 1)}% ` +
        `(+${fixed((median(on.cpuMsPerRequest) - median(off.cpuMsPerRequest)) * 1000, 0)} µs)` +
        `${on.errors + off.errors > 0 ? `, ${on.errors + off.errors} errors` : ''}\n`,
    );
  }
  const exported = sink.stats();
  process.stdout.write(
    `\nOTLP sink received ${exported.exports} exports, ${exported.spans} spans, ` +
      `${(exported.bytes / 1024).toFixed(0)} KiB (${fixed(exported.bytes / exported.spans, 0)} bytes per span)\n`,
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
