/**
 * What the production chain reader costs on a finney-sized metagraph (64 subnets × 256 neurons) served by the
 * localnet node: a cold read (connect, load metadata, read everything) and a warm full re-read on a new block.
 * The node runs in a worker thread so its own CPU is not counted against the reader.
 * Run: `node load-tests/chain-read.ts [runs]`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createChainSource } from '../chain/index.ts';
import { sampleSubnets, startChainNode } from '../localnet/chain/index.ts';

const SUBNETS = 64;
const NEURONS = 256;

// A forced GC before each heap reading, without asking for `node --expose-gc`.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface NodeControl {
  url: string;
  produceBlock(): Promise<void>;
  close(): Promise<void>;
}

if (isMainThread) await measure(Number(process.argv[2] ?? 5));
else await serveNode();

async function serveNode(): Promise<void> {
  const { subnets, neurons } = workerData as { subnets: number; neurons: number };
  const node = await startChainNode({
    subnets: sampleSubnets({ count: subnets, neuronsPerSubnet: neurons }),
    blockMs: 0,
  });
  const port = parentPort!;
  port.on('message', async (command: 'block' | 'close') => {
    if (command === 'block') node.produceBlock();
    if (command === 'close') await node.close();
    port.postMessage(command);
    if (command === 'close') port.close();
  });
  port.postMessage(node.url);
}

async function startNodeWorker(): Promise<NodeControl> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { subnets: SUBNETS, neurons: NEURONS } });
  const reply = () =>
    new Promise<unknown>((resolve, reject) => worker.once('message', resolve).once('error', reject));
  const url = String(await reply());
  return {
    url,
    produceBlock: async () => {
      worker.postMessage('block');
      await reply();
    },
    close: async () => {
      worker.postMessage('close');
      await reply();
      await worker.terminate();
    },
  };
}

interface RunFigures {
  coldMs: number;
  warmMs: number;
  rssDelta: number;
  heapDuringRead: number;
  heapWithSource: number;
}

async function measure(runs: number): Promise<void> {
  const buildStart = performance.now();
  const node = await startNodeWorker();
  console.log(
    `localnet node: ${SUBNETS}×${NEURONS} neurons in ${(performance.now() - buildStart).toFixed(0)} ms`,
  );

  const figures: (RunFigures & { retained: number })[] = [];
  for (let run = 0; run < runs; run++) {
    const figure = await readOnce(node);
    // Measured here, where nothing of the closed source is in scope any more.
    collectGarbage();
    const retained = figure.heapWithSource - process.memoryUsage().heapUsed;
    figures.push({ ...figure, retained });
    console.log(
      `run ${run + 1}: cold ${figure.coldMs.toFixed(0)} ms, warm re-read ${figure.warmMs.toFixed(0)} ms, ` +
        `heap +${mib(figure.heapDuringRead)} during the read, ${mib(retained)} held by the live source, ` +
        `process rss +${mib(figure.rssDelta)}`,
    );
  }
  await node.close();
  const median = (pick: (figure: RunFigures & { retained: number }) => number): number => {
    const sorted = figures.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  };
  console.log(
    `chain-read ${SUBNETS}×${NEURONS} (median of ${runs}): cold ${median((f) => f.coldMs).toFixed(0)} ms, ` +
      `warm full re-read ${median((f) => f.warmMs).toFixed(0)} ms; heap +${mib(median((f) => f.heapDuringRead))} ` +
      `during a cold read, ${mib(median((f) => f.retained))} held by a live source; ` +
      `process rss +${mib(median((f) => f.rssDelta))} (node worker included)`,
  );
}

/** One cold read by a fresh source, then one full re-read on a new block. */
async function readOnce(node: NodeControl): Promise<RunFigures> {
  collectGarbage();
  const before = process.memoryUsage();
  const start = performance.now();
  const source = createChainSource({ url: node.url, refreshMs: 0 });
  const first = await source.ready();
  const coldMs = performance.now() - start;
  const afterRead = process.memoryUsage();
  assertComplete(first.subnets.reduce((sum, subnet) => sum + subnet.neurons.length, 0));

  const updated = new Promise<number>((resolve) => source.onUpdate((snapshot) => resolve(snapshot.block)));
  const blockAt = performance.now();
  await node.produceBlock();
  await updated;
  const warmMs = performance.now() - blockAt;
  collectGarbage();
  const withSource = process.memoryUsage();
  await source.close();
  return {
    coldMs,
    warmMs,
    rssDelta: afterRead.rss - before.rss,
    heapDuringRead: afterRead.heapUsed - before.heapUsed,
    heapWithSource: withSource.heapUsed,
  };
}

function assertComplete(neurons: number): void {
  if (neurons !== SUBNETS * NEURONS)
    throw new Error(`read ${neurons} neurons, expected ${SUBNETS * NEURONS}`);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
