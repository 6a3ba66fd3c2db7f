import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, parseApiKey } from '../billing/index.ts';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { LOCALNET_HOTKEY, loadConfig, loadProfiles } from '../config/index.ts';
import { type Gateway, startGateway } from '../gateway/index.ts';
import { type Localnet, startLocalnet } from '../localnet/index.ts';
import { createTestLedger, flatPriceProfiles, fundedAccount, type TestLedger, waitFor } from './billing.ts';
import { type GatewayProcess, spawnGateway } from './gateway-process.ts';

const PRICE = 1000;
/** sn18's miners take seconds to answer: a request to it is caught between its reservation and its charge. */
const SLOW_NETUID = 18;
/** What these tests do not exercise, left out so that gateways start quickly. */
const LEAN = { TAOGATE_RERANKER_MODEL: 'off', TAOGATE_CACHE: 'off', TAOGATE_METRICS: 'off' };

describe('one PostgreSQL ledger shared by several gateways', () => {
  let store: TestLedger;
  let localnet: Localnet;
  const prices = flatPriceProfiles(PRICE);

  beforeAll(async () => {
    store = await createTestLedger('postgres');
    const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
    localnet = await startLocalnet({
      profiles: loadProfiles(prices.path),
      validatorHotkey: validator.ss58,
      blockMs: 200,
      minersPerSubnet: 2,
      behaviour: (netuid) => (netuid === SLOW_NETUID ? { latencyMs: 20_000 } : undefined),
    });
  });
  afterAll(async () => {
    await localnet?.close();
    await store?.dispose();
    prices.remove();
  });

  const chat = (baseUrl: string, secret: string, model = 'sn1/apex-chat') =>
    fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello, Bittensor' }] }),
    });

  it('lets exactly 150 of 200 concurrent requests through three gateways when the balance pays for 150', async () => {
    const loaded = loadConfig({
      ...store.env,
      TAOGATE_PROFILES: prices.path,
      TAOGATE_PORT: '0',
      TAOGATE_NETWORK: localnet.chain.url,
      TAOGATE_HOTKEY: LOCALNET_HOTKEY,
      TAOGATE_ALLOW_LOOPBACK_AXONS: 'true',
      ...LEAN,
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    const gateways: Gateway[] = await Promise.all(
      [1, 2, 3].map(() =>
        startGateway({ ...loaded.config, snapshotPath: undefined }, pino({ level: 'silent' })),
      ),
    );
    try {
      await Promise.all(gateways.map((gateway) => gateway.source.ready()));
      const { account, secret } = await fundedAccount(store.ledger, BigInt(150 * PRICE));
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => chat(gateways[i % 3]!.url, secret)),
      );
      const statuses = responses.map((r) => r.status);
      await Promise.all(responses.map((r) => r.arrayBuffer()));
      expect(statuses.filter((s) => s === 200)).toHaveLength(150);
      expect(statuses.filter((s) => s === 402)).toHaveLength(50);
      expect(await store.ledger.account(account.id)).toMatchObject({ balanceRao: 0n, reservedRao: 0n });
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.close()));
    }
  });

  describe('a gateway process', () => {
    let gateway: GatewayProcess | undefined;
    let logs = '';
    const spawn = async () => {
      gateway = await spawnGateway({
        chainUrl: localnet.chain.url,
        env: {
          ...store.env,
          TAOGATE_PROFILES: prices.path,
          ...LEAN,
          TAOGATE_INSTANCE_ID: 'replica-under-test',
          // Every line the gateway can log, so a key that leaked into any of them would be found.
          TAOGATE_LOG_LEVEL: 'trace',
        },
      });
      gateway.child.stdout?.on('data', (text: string) => {
        logs += text;
      });
      return gateway;
    };
    afterAll(async () => {
      gateway?.child.kill('SIGKILL');
      await gateway?.exited;
    });

    it('killed with SIGKILL between reserve and commit leaves no reservation once restarted', async () => {
      const { account, secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
      const first = await spawn();
      const caught = chat(first.url, secret, `sn${SLOW_NETUID}/cortex-chat`).catch(() => undefined);
      await waitFor(
        async () => (await store.ledger.pendingReservations(account.id)) === 1,
        'the reservation',
      );
      first.child.kill('SIGKILL');
      await first.exited;
      await caught;
      expect(await store.ledger.account(account.id)).toMatchObject({ reservedRao: BigInt(PRICE) });
      await spawn();
      expect(await store.ledger.pendingReservations(account.id)).toBe(0);
      expect(await store.ledger.account(account.id)).toMatchObject({
        balanceRao: BigInt(10 * PRICE),
        reservedRao: 0n,
      });
    });

    it('answers a wrong or revoked key with 401, never 500, and never logs a key', async () => {
      const url = gateway!.url;
      const { keyId, secret } = await fundedAccount(store.ledger, BigInt(10 * PRICE));
      expect((await chat(url, secret)).status).toBe(200);
      // The key's id with another secret: the record is found, the hash does not match.
      const wrongSecret = `tg_${keyId}_${parseApiKey(generateApiKey().secret)!.secretPart}`;
      const wrong = await chat(url, wrongSecret);
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({
        error: { code: 'invalid_api_key', type: 'invalid_request_error' },
      });
      expect((await chat(url, 'not-a-taogate-key')).status).toBe(401);
      const missing = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: '{}' });
      expect(missing.status).toBe(401);
      await store.ledger.revokeKey(keyId, Date.now());
      const revoked = await chat(url, secret);
      expect(revoked.status).toBe(401);
      expect(await revoked.json()).toMatchObject({ error: { code: 'revoked_api_key' } });
      expect(logs.length).toBeGreaterThan(0);
      for (const key of [secret, wrongSecret, parseApiKey(secret)!.secretPart])
        expect(logs).not.toContain(key);
    });
  });
});
