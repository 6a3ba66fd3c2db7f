// The load generator, in a process of its own so it never shares an event loop with what it measures.
// Started by bench.ts with BENCH_LOAD (a LoadPlan as JSON) and an IPC channel; sends back a LoadResult.
// Throughput and latency come from autocannon (every response's time, kept exactly rather than in
// autocannon's whole-millisecond histogram); for streams, a second phase times the first body byte.
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { type Percentiles, percentiles, SampleSet } from './bench-stats.ts';

export interface LoadPlan {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Seconds of first-byte timing after the throughput phase; 0 skips it. */
  ttfbSeconds: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  latencyMs: Percentiles;
  /** Connection errors, timeouts and non-2xx answers. */
  errors: number;
  /** Time to the first body byte; undefined when not measured. */
  ttfbMs: Percentiles | undefined;
}

async function hammer(plan: LoadPlan, seconds: number, samples: SampleSet | undefined) {
  const options = {
    url: plan.url,
    method: 'POST' as const,
    headers: plan.headers,
    body: plan.body,
    connections: plan.connections,
    duration: seconds,
    timeout: 10,
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    if (samples)
      instance.on('response', (_client, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) samples.add(ms);
      });
  });
  return { errors: result.errors + result.timeouts + result.non2xx, seconds: result.duration };
}

/** Times each request to its first body byte, `connections` at a time, for `seconds`. */
async function timeFirstBytes(plan: LoadPlan, seconds: number): Promise<SampleSet> {
  const { origin, pathname } = new URL(plan.url);
  const pool = new Pool(origin, { connections: plan.connections });
  const samples = new SampleSet();
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      const response = await pool.request({
        method: 'POST',
        path: pathname,
        headers: plan.headers,
        body: plan.body,
      });
      let first = true;
      for await (const _ of response.body) {
        if (first) samples.add(performance.now() - started);
        first = false;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.connections }, worker));
  await pool.close();
  return samples;
}

/** What the generator tells bench.ts, so it watches the target's CPU over the measured phase only. */
export type LoadMessage =
  | { kind: 'measuring' }
  | { kind: 'measured' }
  | { kind: 'result'; result: LoadResult };
const tell = (message: LoadMessage) => process.send?.(message);

const plan = JSON.parse(process.env.BENCH_LOAD ?? '') as LoadPlan;
if (plan.warmupSeconds > 0) await hammer(plan, plan.warmupSeconds, undefined);
const latencies = new SampleSet();
tell({ kind: 'measuring' });
const run = await hammer(plan, plan.durationSeconds, latencies);
tell({ kind: 'measured' });
const ttfb = plan.ttfbSeconds > 0 ? await timeFirstBytes(plan, plan.ttfbSeconds) : undefined;
const result: LoadResult = {
  requests: latencies.size,
  rps: latencies.size / run.seconds,
  latencyMs: percentiles(latencies),
  errors: run.errors,
  ttfbMs: ttfb ? percentiles(ttfb) : undefined,
};
process.send?.({ kind: 'result', result } satisfies LoadMessage, () => process.exit(0));
