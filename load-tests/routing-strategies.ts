/**
 * How much each routing strategy keeps requests away from bad miners (issue "Routing that beats bad
 * miners", item 5). Every strategy gets a fresh localnet and a fresh gateway (the real one, through
 * test/harness.ts) with the same staged mix on sn1: 20 miners, 20% ten times slower, 10% failing (every
 * call answers 500), 10% answering garbage, the rest healthy. Faults are placed by uid so that each
 * quarter of the incentive ranking (localnet's incentive falls with uid) holds one slow miner and one
 * failing or garbage one: the chain's incentive does not point out the bad miners, nor hide them.
 * Circuit breakers, failover (2 attempts) and the retry budget are on, at their defaults, in every run:
 * the strategies differ only in miner weights, hedging and the reranker. Miner choice uses Math.random,
 * so runs differ a little; the miners' own jitter is seeded. An answer sn1's fallback (sn61) gave counts
 * as a failure here, since it says nothing of routing on sn1; its calls count as upstream calls.
 * Run: `node load-tests/routing-strategies.ts [--requests N] [--concurrency C] [--warmup W]`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { Localnet, MinerBehaviour } from '../localnet/index.ts';
import { startStack } from '../test/harness.ts';

const NETUID = 1;
const MODEL = 'sn1/apex-chat';
const MINERS = 20;
const BASE_LATENCY_MS = 20;
/** A client-side bound per request, so a run cannot hang; the gateway's own deadline is 30 s. */
const REQUEST_TIMEOUT_MS = 10_000;
const RESULTS = new URL('./results/routing-strategies.json', import.meta.url);

type Fault = 'slow' | 'failing' | 'garbage';

/** In each block of five uids, the second is slow and the fourth fails (even blocks) or sends garbage. */
function faultOf(uid: number): Fault | undefined {
  const block = Math.floor((uid - 1) / 5);
  const place = (uid - 1) % 5;
  if (place === 1) return 'slow';
  if (place === 3) return block % 2 === 0 ? 'failing' : 'garbage';
  return undefined;
}

const HEALTHY_MINER: Partial<MinerBehaviour> = { latencyMs: BASE_LATENCY_MS, jitterMs: BASE_LATENCY_MS / 2 };
const FAULTS: Record<Fault, Partial<MinerBehaviour>> = {
  slow: { latencyMs: BASE_LATENCY_MS * 10, jitterMs: BASE_LATENCY_MS * 5 },
  failing: { ...HEALTHY_MINER, errorRate: 1 },
  garbage: { ...HEALTHY_MINER, garbageRate: 1 },
};

interface Strategy {
  name: string;
  faults: boolean;
  env: Record<string, string>;
}

const HEDGE_OFF = { TAOGATE_HEDGE: 'off' };
const RERANKER_OFF = { TAOGATE_RERANKER_MODEL: 'off' };
const STRATEGIES: Strategy[] = [
  {
    name: '0 all healthy: blended + hedging',
    faults: false,
    env: { TAOGATE_ROUTING_WEIGHTS: 'blended', ...RERANKER_OFF },
  },
  {
    name: '1 random (uniform weights)',
    faults: true,
    env: { TAOGATE_ROUTING_WEIGHTS: 'uniform', ...HEDGE_OFF, ...RERANKER_OFF },
  },
  {
    name: '2 incentive only',
    faults: true,
    env: { TAOGATE_ROUTING_WEIGHTS: 'incentive', ...HEDGE_OFF, ...RERANKER_OFF },
  },
  {
    name: '3 blended score',
    faults: true,
    env: { TAOGATE_ROUTING_WEIGHTS: 'blended', ...HEDGE_OFF, ...RERANKER_OFF },
  },
  { name: '4 blended + hedging', faults: true, env: { TAOGATE_ROUTING_WEIGHTS: 'blended', ...RERANKER_OFF } },
  // The shipped models/reranker.onnx is the default model.
  { name: '5 reranker + hedging', faults: true, env: { TAOGATE_ROUTING_WEIGHTS: 'blended' } },
];

interface Outcome {
  ok: boolean;
  ms: number;
  hedged: boolean;
  /** Answered by the fallback subnet instead of sn1. */
  fellBack: boolean;
}

interface StrategyResult {
  name: string;
  env: Record<string, string>;
  requests: number;
  /** Of the warm-up requests, which are not in the other figures: what the cold start cost. */
  warmupSuccessRate: number;
  successes: number;
  successRate: number;
  p50Ms: number;
  p99Ms: number;
  upstreamCalls: number;
  upstreamCallsPerSuccess: number;
  hedges: number;
  fallbacks: number;
  /** Share of upstream calls that went to a slow, failing or garbage miner. */
  badMinerCallShare: number;
  callsByUid: Record<number, number>;
  seconds: number;
}

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '600' },
    concurrency: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '100' },
  },
});
const requests = positiveInteger('requests', values.requests);
const concurrency = positiveInteger('concurrency', values.concurrency);
const warmup = positiveInteger('warmup', values.warmup);

const mix = Array.from({ length: MINERS }, (_, i) => `uid${i + 1}:${faultOf(i + 1) ?? 'ok'}`).join(' ');
process.stdout.write(
  `routing strategies on sn1: ${MINERS} miners (healthy ${BASE_LATENCY_MS}±${BASE_LATENCY_MS / 2} ms to first byte), ` +
    `${warmup} warm-up + ${requests} requests at concurrency ${concurrency}\n` +
    `faults by uid, incentive falling with uid (one slow and one failing/garbage miner per incentive quarter):\n  ${mix}\n\n`,
);

// One unreported run first: the first stack in a process pays for JIT compilation of the gateway, the
// miners and the client, which showed as a ~2× slower all-healthy p50 when the baseline ran cold.
await runStrategy(STRATEGIES[0]!);
const results: StrategyResult[] = [];
for (const strategy of STRATEGIES) {
  const result = await runStrategy(strategy);
  results.push(result);
  process.stdout.write(`  ${strategy.name}: done in ${result.seconds.toFixed(1)} s\n`);
}

const table = formatTable(results);
const healthyP99 = results[0]!.p99Ms;
const candidate = results.at(-1)!;
const targets = [
  {
    target: 'success ≥ 99.5%',
    value: `${percent(candidate.successRate)}`,
    pass: candidate.successRate >= 0.995,
  },
  {
    target: `p99 ≤ 1.5 × all-healthy p99 (${(1.5 * healthyP99).toFixed(0)} ms)`,
    value: `${candidate.p99Ms.toFixed(0)} ms (${(candidate.p99Ms / healthyP99).toFixed(2)}×)`,
    pass: candidate.p99Ms <= 1.5 * healthyP99,
  },
  {
    target: '≤ 1.3 upstream calls per success',
    value: candidate.upstreamCallsPerSuccess.toFixed(2),
    pass: candidate.upstreamCallsPerSuccess <= 1.3,
  },
];
const verdicts = targets
  .map(({ target, value, pass }) => `  ${pass ? 'PASS' : 'FAIL'}  ${target}: ${value}`)
  .join('\n');
process.stdout.write(`\n${table}\n\ntargets for "${candidate.name}":\n${verdicts}\n`);

await mkdir(new URL('.', RESULTS), { recursive: true });
await writeFile(
  RESULTS,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cores: availableParallelism(), node: process.version, platform: process.platform },
      settings: { requests, concurrency, warmup, miners: MINERS, baseLatencyMs: BASE_LATENCY_MS, mix },
      strategies: results,
      targets,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`\nresults in ${RESULTS.pathname}\n`);

async function runStrategy(strategy: Strategy): Promise<StrategyResult> {
  const started = performance.now();
  const stack = await startStack({
    env: strategy.env,
    localnet: {
      minersPerSubnet: MINERS,
      behaviour: (netuid, uid) => {
        const fault = strategy.faults && netuid === NETUID ? faultOf(uid) : undefined;
        return fault ? FAULTS[fault] : HEALTHY_MINER;
      },
    },
  });
  try {
    const warmedUp = await sendAll(stack.baseURL, warmup);
    // Let calls the warm-up cancelled (hedge losers) reach their miners before counting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = receivedByUid(stack.localnet);
    const allBefore = receivedEverywhere(stack.localnet);
    const outcomes = await sendAll(stack.baseURL, requests);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = receivedByUid(stack.localnet);
    const callsByUid: Record<number, number> = {};
    // Every subnet's miners: calls to the fallback subnet are upstream calls too.
    const upstreamCalls = receivedEverywhere(stack.localnet) - allBefore;
    let badMinerCalls = 0;
    for (let uid = 1; uid <= MINERS; uid++) {
      const calls = after[uid - 1]! - before[uid - 1]!;
      callsByUid[uid] = calls;
      if (strategy.faults && faultOf(uid)) badMinerCalls += calls;
    }
    const successes = outcomes.filter((outcome) => outcome.ok);
    const latencies = successes.map((outcome) => outcome.ms).sort((a, b) => a - b);
    return {
      name: strategy.name,
      env: strategy.env,
      requests,
      warmupSuccessRate: warmedUp.filter((outcome) => outcome.ok).length / warmup,
      successes: successes.length,
      successRate: successes.length / requests,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      upstreamCalls,
      upstreamCallsPerSuccess: upstreamCalls / Math.max(1, successes.length),
      hedges: outcomes.filter((outcome) => outcome.hedged).length,
      fallbacks: outcomes.filter((outcome) => outcome.fellBack).length,
      badMinerCallShare: badMinerCalls / Math.max(1, upstreamCalls),
      callsByUid,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await stack.close();
  }
}

function receivedByUid(localnet: Localnet): number[] {
  return Array.from({ length: MINERS }, (_, i) => localnet.miner(NETUID, i + 1).received);
}

function receivedEverywhere(localnet: Localnet): number {
  return localnet.miners().reduce((sum, miner) => sum + miner.received, 0);
}

/** `count` requests, `concurrency` at a time; each outcome in the order sent. */
async function sendAll(baseURL: string, count: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const n = next++;
      outcomes[n] = await send(baseURL, n);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

async function send(baseURL: string, n: number): Promise<Outcome> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `request ${n}` }] }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body: unknown = await response.json().catch(() => undefined);
    const fellBack = response.headers.has('x-taogate-fallback');
    return {
      ok: response.ok && !fellBack && hasAnswer(body),
      ms: performance.now() - started,
      hedged: response.headers.get('x-taogate-hedged') === '1',
      fellBack,
    };
  } catch {
    return { ok: false, ms: performance.now() - started, hedged: false, fellBack: false };
  }
}

/** A chat completion whose first choice has text: what the client came for. */
function hasAnswer(body: unknown): boolean {
  const choices = (body as { choices?: { message?: { content?: unknown } }[] } | undefined)?.choices;
  const content = choices?.[0]?.message?.content;
  return typeof content === 'string' && content.length > 0;
}

/** Nearest-rank quantile of sorted values; NaN when there are none. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function formatTable(rows: readonly StrategyResult[]): string {
  const header = [
    'strategy',
    'warm-up success',
    'success',
    'p50 ms',
    'p99 ms',
    'calls/success',
    'hedges',
    'fallbacks',
    'calls to bad miners',
  ];
  const cells = rows.map((row) => [
    row.name,
    percent(row.warmupSuccessRate),
    percent(row.successRate),
    row.p50Ms.toFixed(0),
    row.p99Ms.toFixed(0),
    row.upstreamCallsPerSuccess.toFixed(2),
    String(row.hedges),
    String(row.fallbacks),
    percent(row.badMinerCallShare),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((cell) => cell[i]!.length)));
  const line = (cell: readonly string[]) =>
    `| ${cell.map((text, i) => (i === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, i) => (i === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

function percent(share: number): string {
  return `${(100 * share).toFixed(1)}%`;
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, not ${text}`);
  return value;
}
