import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTraces } from '../router/reranker/index.ts';
import { openAIClient, startStack } from './harness.ts';

const dir = await mkdtemp(join(tmpdir(), 'taogate-reranker-e2e-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Asks `count` questions; returns the upstream attempts they took in all. */
async function ask(baseURL: string, count: number): Promise<number> {
  const client = openAIClient(baseURL);
  let attempts = 0;
  for (let i = 0; i < count; i++) {
    const { data: reply, response } = await client.chat.completions
      .create({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: `question ${i}` }] })
      .withResponse();
    expect(reply.choices[0]?.message.content).toBeTruthy();
    attempts += Number(response.headers.get('x-taogate-attempts'));
  }
  return attempts;
}

describe('the gateway with the reranker', () => {
  it('answers on blended weights when the model file is absent', async () => {
    const stack = await startStack({
      env: { TAOGATE_RERANKER_MODEL: join(dir, 'absent.onnx') },
      localnet: { minersPerSubnet: 3 },
    });
    try {
      await ask(stack.baseURL, 5);
    } finally {
      await stack.close();
    }
  });

  it('writes one trace per upstream attempt, readable by the trainer, when traces are on', async () => {
    const tracesPath = join(dir, 'traces.jsonl');
    const stack = await startStack({
      env: { TAOGATE_RERANKER_TRACES: tracesPath, TAOGATE_HEDGE: 'off', TAOGATE_MAX_ATTEMPTS: '3' },
      // Miner 1 (the top incentive, half the traffic at first) always fails: some requests take two attempts.
      localnet: {
        minersPerSubnet: 3,
        behaviour: (netuid, uid) => (netuid === 1 && uid === 1 ? { errorRate: 1 } : undefined),
      },
    });
    let attempts: number;
    try {
      attempts = await ask(stack.baseURL, 16);
    } finally {
      await stack.close();
    }
    const traces = parseTraces(await readFile(tracesPath, 'utf8'));
    expect(traces).toHaveLength(attempts);
    expect(attempts).toBeGreaterThan(16);
    // Failures are bad; so are answers far slower than the subnet's median, so good ones are at most 16.
    expect(traces.filter((trace) => trace.outcome === 1).length).toBeLessThanOrEqual(16);
    expect(traces.some((trace) => trace.outcome === 0)).toBe(true);
  });
});
