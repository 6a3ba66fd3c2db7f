/**
 * Records reranker traces through the real gateway and router against localnet under a staged fault mix:
 * 20 miners on sn1, dealt afresh every stage as 20% ten times slower, 10% failing (500s), 10% answering
 * garbage, the rest healthy; incentive flat. The reranker is off while recording, so the traces show the blended router's
 * own choices. Then train on them: `node bin/train-reranker.ts --traces <file>`.
 * Run: `node load-tests/reranker-traces.ts <traces.jsonl> [requests] [stages]`.
 */
import { rm } from 'node:fs/promises';
import { type MinerBehaviour, seededRandom } from '../localnet/index.ts';
import { startStack } from '../test/harness.ts';

const MINERS = 20;
const CONCURRENCY = 8;
const BASE_LATENCY_MS = 20;

const path = process.argv[2];
if (!path) throw new Error('usage: node load-tests/reranker-traces.ts <traces.jsonl> [requests] [stages]');
const requests = Number(process.argv[3] ?? 3_000);
const stages = Number(process.argv[4] ?? 4);

await rm(path, { force: true });
const stack = await startStack({
  env: {
    TAOGATE_RERANKER_MODEL: 'off',
    TAOGATE_RERANKER_TRACES: path,
    TAOGATE_HEDGE: 'off',
    TAOGATE_DEADLINE_MS: '1500',
    TAOGATE_MAX_ATTEMPTS: '3',
    // Shorter memory and cool-downs than production, so a few thousand requests show miners recovering.
    TAOGATE_STATS_HALF_LIFE_MS: '10000',
    TAOGATE_BREAKER_COOLDOWN_MS: '2000',
  },
  localnet: { minersPerSubnet: MINERS },
});

// Flat incentive: with localnet's falling incentive most traffic goes to a few top miners, and the traces
// would hold too few calls to the faulty ones to learn from. The blended weight still carries incentive.
for (let uid = 1; uid <= MINERS; uid++) stack.localnet.setIncentive(1, uid, 1 / MINERS);
await waitForFlatIncentive();

const random = seededRandom(7);
function dealFaults(): void {
  for (let uid = 1; uid <= MINERS; uid++) {
    stack.localnet.miner(1, uid).behaviour = { ...stack.localnet.miner(1, uid).behaviour, ...stagedFault() };
  }
}

function stagedFault(): Partial<MinerBehaviour> {
  const healthy = { latencyMs: BASE_LATENCY_MS, jitterMs: BASE_LATENCY_MS / 2, errorRate: 0, garbageRate: 0 };
  const roll = random();
  if (roll < 0.2) return { ...healthy, latencyMs: BASE_LATENCY_MS * 10, jitterMs: BASE_LATENCY_MS * 5 };
  if (roll < 0.3) return { ...healthy, errorRate: 0.9 };
  if (roll < 0.4) return { ...healthy, garbageRate: 0.7 };
  return healthy;
}

let sent = 0;
let good = 0;
const perStage = Math.ceil(requests / stages);
const started = performance.now();
dealFaults();
await Promise.all(Array.from({ length: CONCURRENCY }, sendUntilDone));
await stack.close();
process.stdout.write(
  `${requests} requests (${good} answered) in ${((performance.now() - started) / 1000).toFixed(1)} s; traces in ${path}\n`,
);

/** Until the gateway's metagraph shows the flat incentive (a block or two later). */
async function waitForFlatIncentive(): Promise<void> {
  const flat = Math.round(65535 / MINERS) / 65535;
  for (;;) {
    const sn1 = stack.gateway.source.current()?.subnets.find((subnet) => subnet.netuid === 1);
    const miners = sn1?.neurons.filter((neuron) => neuron.uid > 0) ?? [];
    if (miners.length === MINERS && miners.every((neuron) => Math.abs(neuron.incentive - flat) < 1e-3))
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function sendUntilDone(): Promise<void> {
  while (sent < requests) {
    const n = sent++;
    if (n > 0 && n % perStage === 0) dealFaults();
    const response = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: `request ${n}` }] }),
    });
    await response.arrayBuffer();
    if (response.ok) good++;
  }
}
