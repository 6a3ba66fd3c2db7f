// `npm run bench -- --soak [seconds]`: the gateway under steady load (JSON and SSE at once, 0 ms upstream)
// for a while, its RSS sampled throughout, to show memory stays bounded and does not grow.
import type { LoadResult } from './bench-load.ts';
import { rssMb } from './bench-processes.ts';
import { markdownTable } from './bench-report.ts';
import { type RunningTarget, startUpstream, type TargetKind } from './bench-targets.ts';
import type { Verdict } from './bench-verdicts.ts';

const SAMPLE_EVERY_MS = 5000;
const MAX_RSS_MB = 200;
/** Growth allowed between the second fifth of the run and the last: allocator noise, not a leak. */
const MAX_GROWTH_MB = 10;

type Measure = (
  target: RunningTarget,
  stream: boolean,
  connections: number,
  seconds: number,
) => Promise<{ load: LoadResult; cpuPercent: number; peakRssMb: number }>;

export interface SoakOptions {
  kind: TargetKind;
  seconds: number;
  connections: number;
  workDir: string;
  gatewayNodeFlags: string[];
  measure: Measure;
}

export interface SoakResult {
  target: string;
  seconds: number;
  samples: { atSeconds: number; rssMb: number }[];
  json: LoadResult;
  stream: LoadResult;
  verdicts: Verdict[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const upstream = await startUpstream(0);
  const target = await options.kind.start({
    upstream,
    workDir: options.workDir,
    gatewayNodeFlags: options.gatewayNodeFlags,
  });
  const samples: SoakResult['samples'] = [];
  const started = performance.now();
  const sample = () => {
    const rss = rssMb(target.pid);
    if (rss !== undefined)
      samples.push({ atSeconds: Math.round((performance.now() - started) / 1000), rssMb: rss });
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  const half = Math.max(1, Math.floor(options.connections / 2));
  const [json, stream] = await Promise.all([
    options.measure(target, false, half, options.seconds),
    options.measure(target, true, half, options.seconds),
  ]);
  clearInterval(timer);
  sample();
  await target.stop();
  await upstream.stop();

  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const settled = median(samples.slice(fifth, 2 * fifth).map((s) => s.rssMb));
  const last = median(samples.slice(-fifth).map((s) => s.rssMb));
  const peak = Math.max(...samples.map((s) => s.rssMb));
  const verdicts: Verdict[] = [
    {
      pass: peak <= MAX_RSS_MB,
      target: `RSS ≤ ${MAX_RSS_MB} MB at steady load`,
      measured: `${peak.toFixed(0)} MB peak`,
    },
    {
      pass: last - settled <= MAX_GROWTH_MB,
      target: `no RSS growth over ${options.seconds} s (last fifth vs second fifth ≤ +${MAX_GROWTH_MB} MB)`,
      measured: `${settled.toFixed(0)} → ${last.toFixed(0)} MB (${last - settled >= 0 ? '+' : ''}${(last - settled).toFixed(1)} MB)`,
    },
  ];
  return {
    target: options.kind.name,
    seconds: options.seconds,
    samples,
    json: json.load,
    stream: stream.load,
    verdicts,
  };
}

export function soakReport(result: SoakResult): string {
  const series = markdownTable(
    ['s', 'RSS MB'],
    result.samples.map((s) => [String(s.atSeconds), s.rssMb.toFixed(1)]),
  );
  const load = markdownTable(
    ['load', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
    (['json', 'stream'] as const).map((kind) => {
      const l = result[kind];
      return [
        kind,
        l.rps.toFixed(0),
        l.latencyMs.p50.toFixed(2),
        l.latencyMs.p99.toFixed(2),
        String(l.errors),
      ];
    }),
  );
  return `${load}\n\n${series}`;
}
