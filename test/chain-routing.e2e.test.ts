import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MetagraphSource, Neuron, Subnet } from '../chain/index.ts';
import { LOCALNET_HOTKEY, loadConfig } from '../config/index.ts';
import { type Gateway, startGateway } from '../gateway/index.ts';
import { openAIClient, type Stack, startStack } from './harness.ts';

const NETUID = 1;
const MODEL = 'sn1/apex-chat';
const REQUESTS = 30;
// A miner the chain gives no incentive keeps only a small exploration share, so 90 % leaves ample room.
const MAJORITY = Math.ceil(REQUESTS * 0.9);
// A reconnection backs off (250 ms doubling) while the node is down, so catching up can take a few seconds.
const CHAIN_WAIT = { timeout: 10_000, interval: 50 };

interface Answer {
  miner: string | null;
  attempts: string | null;
}

async function askOnce(client: OpenAI): Promise<Answer> {
  const { data, response } = await client.chat.completions
    .create({ model: MODEL, messages: [{ role: 'user', content: 'who answers?' }] })
    .withResponse();
  expect(data.choices[0]?.message.content).toMatch(/^sn1 miner \d heard: who answers\?$/);
  return {
    miner: response.headers.get('x-taogate-miner'),
    attempts: response.headers.get('x-taogate-attempts'),
  };
}

/**
 * Sends `count` chat requests one after another, so that per-miner concurrency limits never spill traffic
 * and the split reflects the weights alone; any failed request fails the test.
 */
async function ask(client: OpenAI, count = REQUESTS): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await askOnce(client));
  return answers;
}

function servedBy(answers: readonly Answer[], uid: number): number {
  return answers.filter((answer) => answer.miner === `sn${NETUID}/uid${uid}`).length;
}

function neuronOf(source: MetagraphSource, uid: number): Neuron | undefined {
  return source
    .current()
    ?.subnets.find((subnet) => subnet.netuid === NETUID)
    ?.neurons.find((neuron) => neuron.uid === uid);
}

/** Puts incentives on chain and waits until the gateway's snapshot holds them, rather than sleeping blindly. */
async function setIncentives(stack: Stack, incentives: Record<number, number>): Promise<void> {
  for (const [uid, incentive] of Object.entries(incentives))
    stack.localnet.setIncentive(NETUID, Number(uid), incentive);
  await gatewaySees(stack.gateway.source, incentives);
}

function gatewaySees(source: MetagraphSource, incentives: Record<number, number>): Promise<void> {
  return vi.waitFor(() => {
    for (const [uid, incentive] of Object.entries(incentives))
      expect(neuronOf(source, Number(uid))?.incentive).toBe(incentive);
  }, CHAIN_WAIT);
}

describe('routing follows the chain', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      localnet: { minersPerSubnet: 3 },
      // No hedges: a slow first chunk on a loaded machine would add attempts that are not failovers. Weights
      // from the chain alone: what these tests check is that the chain's scores reach the router; blending in
      // measured latency (and the reranker, trained to avoid slow miners) is tested on its own, and on a loaded
      // machine a stale slow sample can cost the chain's favourite more than the 10 % left for other miners.
      env: {
        TAOGATE_CHAIN_REFRESH_MS: '200',
        TAOGATE_HEDGE: 'off',
        TAOGATE_ROUTING_WEIGHTS: 'incentive',
        TAOGATE_RERANKER_MODEL: 'off',
      },
    });
  });
  afterAll(() => stack?.close());

  it('sends traffic to the miner a later block gives the incentive to', async () => {
    await setIncentives(stack, { 1: 1, 2: 0, 3: 0 });
    expect(servedBy(await ask(stack.client), 1)).toBeGreaterThanOrEqual(MAJORITY);

    await setIncentives(stack, { 1: 0, 2: 1 });
    expect(servedBy(await ask(stack.client), 2)).toBeGreaterThanOrEqual(MAJORITY);
  });

  it('keeps routing when the chain node drops every connection, and follows later changes', async () => {
    await setIncentives(stack, { 1: 1, 2: 0, 3: 0 });
    stack.localnet.chain.disconnectAll();
    expect(servedBy(await ask(stack.client), 1)).toBeGreaterThanOrEqual(MAJORITY);

    await setIncentives(stack, { 1: 0, 3: 1 });
    expect(servedBy(await ask(stack.client), 3)).toBeGreaterThanOrEqual(MAJORITY);
  });

  it('routes from the last snapshot while the chain node is unreachable, and catches up once it is back', async () => {
    await setIncentives(stack, { 1: 1, 2: 0, 3: 0 });
    const { chain } = stack.localnet;
    await chain.stopListening();
    try {
      const blockBeforeOutage = stack.gateway.source.current()?.block;
      // Blocks keep coming while nobody can read them: the chain now prefers uid 2, the gateway cannot know.
      stack.localnet.setIncentive(NETUID, 1, 0);
      stack.localnet.setIncentive(NETUID, 2, 1);
      await vi.waitFor(() => expect(chain.bestBlock()).toBeGreaterThan((blockBeforeOutage ?? 0) + 1));

      expect(servedBy(await ask(stack.client), 1)).toBeGreaterThanOrEqual(MAJORITY);
      expect(stack.gateway.source.current()?.block).toBe(blockBeforeOutage);
    } finally {
      await chain.startListening();
    }
    await gatewaySees(stack.gateway.source, { 1: 0, 2: 1 });
    expect(servedBy(await ask(stack.client), 2)).toBeGreaterThanOrEqual(MAJORITY);

    // A change on a block after the reconnection proves the head subscription came back, not just one read.
    await setIncentives(stack, { 2: 0, 3: 1 });
    expect(servedBy(await ask(stack.client), 3)).toBeGreaterThanOrEqual(MAJORITY);
  });

  it.each([
    ['a cloud metadata address', '169.254.169.254'],
    ['a private network address', '10.0.0.5'],
  ])('never dials an axon the metagraph places at %s', async (_, untrustedIp) => {
    // The untrusted miner holds all the incentive: were it a candidate, it would be picked nearly every time.
    await setIncentives(stack, { 1: 1, 2: 0, 3: 0 });
    const subnets: Subnet[] = stack.localnet.subnets();
    const axon = subnets.find((s) => s.netuid === NETUID)?.neurons.find((n) => n.uid === 1)?.axon;
    if (!axon) throw new Error('localnet miner 1 serves no axon');
    axon.ip = untrustedIp;
    stack.localnet.chain.setSubnets(subnets);
    try {
      await vi.waitFor(
        () => expect(neuronOf(stack.gateway.source, 1)?.axon?.ip).toBe(untrustedIp),
        CHAIN_WAIT,
      );

      const answers = await ask(stack.client);
      expect(servedBy(answers, 1)).toBe(0);
      expect(servedBy(answers, 2) + servedBy(answers, 3)).toBe(REQUESTS);
      // One attempt each: no request tried the untrusted axon first and failed over.
      expect(answers.every((answer) => answer.attempts === '1')).toBe(true);
    } finally {
      stack.localnet.chain.setSubnets(stack.localnet.subnets());
      await vi.waitFor(
        () => expect(neuronOf(stack.gateway.source, 1)?.axon?.ip).toBe('127.0.0.1'),
        CHAIN_WAIT,
      );
    }
  });
});

describe('restart from the persisted snapshot', () => {
  let stack: Stack;
  let snapshotDir: string;

  beforeAll(async () => {
    stack = await startStack({ localnet: { minersPerSubnet: 2 } });
    snapshotDir = await mkdtemp(join(tmpdir(), 'taogate-snapshot-'));
  });
  afterAll(async () => {
    await stack?.close();
    if (snapshotDir) await rm(snapshotDir, { recursive: true, force: true });
  });

  /**
   * A gateway that reads localnet's chain as a remote network would (by URL), so its snapshot is persisted;
   * localnet's miners listen on 127.0.0.1, which only an explicit setting lets it dial outside localnet.
   */
  async function startPersistingGateway(): Promise<Gateway> {
    const loaded = loadConfig({
      TAOGATE_NETWORK: stack.localnet.chain.url,
      TAOGATE_HOTKEY: LOCALNET_HOTKEY,
      TAOGATE_SNAPSHOT_DIR: snapshotDir,
      TAOGATE_CHAIN_REFRESH_MS: '200',
      TAOGATE_ALLOW_LOOPBACK_AXONS: 'true',
      TAOGATE_PORT: '0',
      TAOGATE_LOG_LEVEL: 'silent',
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    expect(loaded.config.snapshotPath).toContain(snapshotDir);
    return startGateway(loaded.config, pino({ level: 'silent' }));
  }

  it('routes a request from the snapshot on disk before the chain node answers', async () => {
    const first = await startPersistingGateway();
    await first.source.ready().finally(() => first.close());
    // Closing flushed the newest snapshot the first gateway read to disk.
    const persistedBlock = first.source.current()?.block ?? Number.NaN;

    const { chain } = stack.localnet;
    await chain.stopListening();
    let second: Gateway | undefined;
    try {
      second = await startPersistingGateway();
      expect(second.source.current()?.block).toBe(persistedBlock);

      const client = openAIClient(`${second.url}/v1`);
      const answer = await askOnce(client);
      expect(answer.miner).toMatch(/^sn1\/uid[12]$/);
      expect(second.source.current()?.block).toBe(persistedBlock);

      await chain.startListening();
      const restarted = second;
      await vi.waitFor(
        () => expect(restarted.source.current()?.block).toBeGreaterThan(persistedBlock),
        CHAIN_WAIT,
      );
    } finally {
      await chain.startListening();
      await second?.close();
    }
  });
});
