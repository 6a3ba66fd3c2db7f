import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { LOCALNET_HOTKEY, loadProfiles } from '../config/index.ts';
import { type Localnet, startLocalnet } from '../localnet/index.ts';
import { createTestLedger, fundedAccount, type TestLedger } from './billing.ts';
import { type ChatAnswer, readChatAnswer } from './chat-answer.ts';
import { type GatewayProcess, spawnGateway } from './gateway-process.ts';

const STREAMS = 50;
const CREDIT_RAO = 10n ** 15n;

interface StreamOutcome extends ChatAnswer {
  endedAt: number;
}

/** Reads one chat stream to its end; `started` is told when its first event came. */
async function readStream(
  baseUrl: string,
  apiKey: string,
  prompt: string,
  started: () => void,
): Promise<StreamOutcome> {
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({
      model: 'sn1/apex-chat',
      messages: [{ role: 'user', content: prompt }],
      stream: true,
    }),
  });
  let first = true;
  const answer = await readChatAnswer(response, () => {
    if (first) started();
    first = false;
  });
  return { ...answer, endedAt: Date.now() };
}

/** Opens `STREAMS` streams: `underway` resolves once each has had its first event, `outcomes` at their ends. */
function openStreams(gateway: GatewayProcess, apiKey: string, words: number) {
  let started = 0;
  let allStarted = () => {};
  const underway = new Promise<void>((resolve) => {
    allStarted = resolve;
  });
  const outcomes = Promise.all(
    Array.from({ length: STREAMS }, async (_, i) => {
      const prompt = `stream ${i} ${Array.from({ length: words }, (_, w) => `w${w}`).join(' ')}`;
      const outcome = await readStream(gateway.url, apiKey, prompt, () => {
        if (++started === STREAMS) allStarted();
      });
      return { prompt, outcome };
    }),
  );
  return { underway, outcomes };
}

/** Every request was settled: nothing reserved, the balance is the credit less what was charged. */
async function expectNoReservationLeft(ledger: TestLedger, accountId: string, requests: number) {
  expect(await ledger.ledger.pendingReservations(accountId)).toBe(0);
  const account = await ledger.ledger.account(accountId);
  const usage = await ledger.ledger.usage({ accountId });
  const charged = usage.reduce((sum, row) => sum + row.costRao, 0n);
  expect(account).toMatchObject({ reservedRao: 0n, balanceRao: CREDIT_RAO - charged });
  expect(usage.reduce((sum, row) => sum + row.requests, 0)).toBe(requests);
}

// Each test starts a gateway process: give a loaded CI machine time for that.
describe('SIGTERM with streams in flight (a gateway process)', { timeout: 60_000 }, () => {
  let localnet: Localnet;
  let ledger: TestLedger;
  let account: { account: { id: string }; secret: string };

  beforeAll(async () => {
    const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
    // sn1 miners stream one word every 30 ms.
    localnet = await startLocalnet({
      profiles: loadProfiles(),
      validatorHotkey: validator.ss58,
      blockMs: 200,
      behaviour: (netuid) => (netuid === 1 ? { chunkDelayMs: 30 } : undefined),
    });
    // The gateways charge one account on the PostgreSQL ledger replicas share.
    ledger = await createTestLedger('postgres');
    account = await fundedAccount(ledger.ledger, CREDIT_RAO);
  });
  afterAll(async () => {
    await localnet.close();
    await ledger.dispose();
  });

  it('finishes all 50 streams before exiting, and refuses new connections meanwhile', async () => {
    const gateway = await spawnGateway({
      chainUrl: localnet.chain.url,
      env: { ...ledger.env, TAOGATE_DRAIN_MS: '10000' },
    });
    const before = (await ledger.ledger.usage({ accountId: account.account.id })).length;
    expect(before).toBe(0);
    const streams = openStreams(gateway, account.secret, 20);
    await streams.underway;
    gateway.child.kill('SIGTERM');
    const sentAt = Date.now();
    const late = await new Promise((resolve) => setTimeout(resolve, 100))
      .then(() => fetch(`${gateway.url}/v1/models`))
      .then(
        () => 'answered',
        () => 'refused',
      );
    const results = await streams.outcomes;
    const exit = await gateway.exited;
    const exitedAt = Date.now();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(late).toBe('refused');
    for (const { prompt, outcome } of results) {
      expect(outcome).toMatchObject({ status: 200, complete: true });
      expect(outcome.text).toMatch(new RegExp(`^sn1 miner \\d heard: ${prompt}$`));
      expect(outcome.endedAt).toBeLessThanOrEqual(exitedAt);
    }
    // The streams took their time (20+ words at 30 ms) and the process waited for them.
    expect(exitedAt - sentAt).toBeGreaterThan(300);
    await expectNoReservationLeft(ledger, account.account.id, STREAMS);
  });

  it('past the drain timeout, ends every unfinished stream with an error event, then exits', async () => {
    const gateway = await spawnGateway({
      chainUrl: localnet.chain.url,
      env: { ...ledger.env, TAOGATE_DRAIN_MS: '300' },
    });
    // 150 words at 30 ms: each stream would need 4.5 s, far past the 300 ms drain.
    const streams = openStreams(gateway, account.secret, 150);
    await streams.underway;
    gateway.child.kill('SIGTERM');
    const sentAt = Date.now();
    const results = await streams.outcomes;
    const exit = await gateway.exited;
    const exitedAt = Date.now();

    expect(exit).toEqual({ code: 0, signal: null });
    for (const { outcome } of results) {
      expect(outcome).toMatchObject({ status: 200, malformed: [], done: false });
      expect(outcome.error).toMatchObject({ type: 'server_error', code: 'server_shutting_down' });
      expect(outcome.text.length).toBeGreaterThan(0);
      expect(outcome.endedAt).toBeLessThanOrEqual(exitedAt);
    }
    // Drain (0.3 s), then at most 1 s for the error events and 5 s for the charges to settle.
    expect(exitedAt - sentAt).toBeLessThan(7000);
    // Cut streams are charged for what they produced (the first test's 50 plus these 50), none is left held.
    await expectNoReservationLeft(ledger, account.account.id, 2 * STREAMS);
  });
});
