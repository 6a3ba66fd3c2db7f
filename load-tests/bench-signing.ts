// What signing costs the dendrite path, measured alone on one core: the whole synapse request
// (`signSynapse`: nonce, uuid, body hash, sr25519 signature, headers, body) and its parts.
// `node load-tests/bench-signing.ts` prints the figures by itself.
import { hotkeyFromSecret, type SynapseCall, signSynapse, synapseBodyHash } from '../bittensor/index.ts';
import { LOCALNET_HOTKEY } from '../config/index.ts';
import type { Row } from './bench-report.ts';
import { markdownTable } from './bench-report.ts';
import { createSigningPool } from './bench-signing-pool.ts';

export interface SigningResult {
  /** µs per whole signed synapse request. */
  signSynapseUs: number;
  /** µs per sr25519 signature (wasm schnorrkel) as hex. */
  signatureUs: number;
  /** µs per synapse body hash (sha3-256 of Python str() of the hashed fields). */
  bodyHashUs: number;
  /** Signatures on worker threads (bench-signing-pool.ts), 64 asked at a time. */
  threads: { threads: number; perSecond: number; mainThreadUs: number }[];
}

/** Signatures per second through a pool, and the event loop's own µs per signature (postMessage, batching). */
async function measurePool(threads: number, ms = 700): Promise<SigningResult['threads'][number]> {
  const pool = createSigningPool(LOCALNET_HOTKEY, threads);
  const message = (i: number) => `1732512345678901234.${i}.${'a'.repeat(64)}`;
  await Promise.all(Array.from({ length: 256 }, (_, i) => pool.sign(message(i))));
  const before = performance.eventLoopUtilization();
  const started = performance.now();
  let signed = 0;
  while (performance.now() - started < ms) {
    await Promise.all(Array.from({ length: 64 }, (_, i) => pool.sign(message(i))));
    signed += 64;
  }
  const elapsed = performance.now() - started;
  const busy = performance.eventLoopUtilization(before);
  await pool.close();
  return { threads, perSecond: (signed * 1000) / elapsed, mainThreadUs: (busy.active * 1000) / signed };
}

/**
 * µs per call of `fn`: the fastest of several short rounds, since on a shared machine every other round is
 * the cost plus someone else's work.
 */
function timePerCall(fn: () => unknown, rounds = 7, roundMs = 60): number {
  for (let i = 0; i < 100; i++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    let calls = 0;
    const started = performance.now();
    let now = started;
    while (now - started < roundMs) {
      for (let i = 0; i < 10; i++) fn();
      calls += 10;
      now = performance.now();
    }
    best = Math.min(best, ((now - started) * 1000) / calls);
  }
  return best;
}

export async function measureSigning(): Promise<SigningResult> {
  const dendrite = await hotkeyFromSecret(LOCALNET_HOTKEY);
  const miner = await hotkeyFromSecret('//localnet/sn18/1/hotkey');
  const call: SynapseCall = {
    shape: { name: 'StreamPrompting', requiredHashFields: ['messages'], requiredFields: ['messages'] },
    fields: {
      messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
      provider: 'OpenAI',
      model: 'gpt-4o',
      temperature: 0,
      completion: '',
    },
    timeoutSeconds: 30,
    axon: { ip: '127.0.0.1', port: 40000, hotkey: miner.ss58 },
    dendrite,
    dendriteIp: '0.0.0.0',
  };
  const message = `1732512345678901234.${dendrite.ss58}.${miner.ss58}.0b5e9f4c-1d2e-4a3b-8c7d-6e5f4a3b2c1d.${'a'.repeat(64)}`;
  return {
    signSynapseUs: timePerCall(() => signSynapse(call)),
    signatureUs: timePerCall(() => dendrite.sign(message)),
    bodyHashUs: timePerCall(() => synapseBodyHash(call.fields, call.shape.requiredHashFields)),
    threads: [await measurePool(1), await measurePool(2)],
  };
}

/** The signing figures, and what they come to at the dendrite rows' request rates. */
export function signingLines(signing: SigningResult, rows: readonly Row[] = []): string {
  const perCore = 1e6 / signing.signSynapseUs;
  const lines = [
    ['signed synapse request (all of signSynapse)', signing.signSynapseUs.toFixed(1), perCore.toFixed(0)],
    [
      '  of which the sr25519 signature',
      signing.signatureUs.toFixed(1),
      (1e6 / signing.signatureUs).toFixed(0),
    ],
    ['  of which the body hash', signing.bodyHashUs.toFixed(1), (1e6 / signing.bodyHashUs).toFixed(0)],
  ];
  for (const pool of signing.threads) {
    lines.push([
      `  signature on ${pool.threads} worker thread${pool.threads > 1 ? 's' : ''} (event loop's share)`,
      pool.mainThreadUs.toFixed(1),
      `${pool.perSecond.toFixed(0)} (all threads)`,
    ]);
  }
  const table = markdownTable(['signing cost', 'µs / request', 'requests/s per core'], lines);
  const load = rows
    .filter((row) => row.target === 'dendrite')
    .map(
      (row) =>
        `- dendrite, ${row.delayMs} ms, ${row.stream ? 'stream' : 'json'}, c${row.connections}: ${row.load.rps.toFixed(0)} req/s × ${signing.signSynapseUs.toFixed(0)} µs = ${((row.load.rps * signing.signSynapseUs) / 1e4).toFixed(1)}% of one core spent signing (gateway used ${row.cpuPercent.toFixed(0)}%)`,
    );
  return [table, ...load].join('\n');
}

if (import.meta.main) process.stdout.write(`${signingLines(await measureSigning())}\n`);
