import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depositAddressOf } from '../billing/index.ts';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { runDepositCommand } from '../chain/index.ts';
import { type GatewayConfig, LOCALNET_HOTKEY, loadConfig, loadProfiles } from '../config/index.ts';
import { type Gateway, startGateway } from '../gateway/index.ts';
import { type Localnet, startLocalnet } from '../localnet/index.ts';
import { createTestLedger, type TestLedger, waitFor } from './billing.ts';

const CONFIRMATIONS = 3;
const PAYER = '//deposit-e2e/payer';

describe('deposits on localnet', () => {
  let store: TestLedger;
  let localnet: Localnet;
  let config: GatewayConfig;
  let gateway: Gateway;

  beforeAll(async () => {
    store = await createTestLedger('sqlite');
    const loaded = loadConfig({
      ...store.env,
      TAOGATE_PORT: '0',
      TAOGATE_LOG_LEVEL: 'silent',
      TAOGATE_DEPOSIT_CONFIRMATIONS: String(CONFIRMATIONS),
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
    // Blocks are sealed by the test, one at a time, so confirmations can be counted exactly.
    localnet = await startLocalnet({
      profiles: loadProfiles(loaded.config.profilesPath),
      validatorHotkey: validator.ss58,
      blockMs: 0,
      minersPerSubnet: 1,
    });
    config = { ...loaded.config, chainUrl: localnet.chain.url };
    gateway = await startGateway(config, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await gateway?.close();
    await localnet?.close();
    await store?.dispose();
  });

  const balanceOf = async (coldkey: string) => (await store.ledger.accountByColdkey(coldkey))?.balanceRao;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  it('credits a transfer after N confirmations, once, across re-orgs and a restart that rescans its block', async () => {
    const payer = (await hotkeyFromSecret(PAYER)).ss58;
    await store.ledger.createAccount({ coldkey: payer, nowMs: Date.now() });
    const depositAddress = (await depositAddressOf(config))!;
    await waitFor(
      async () => (await store.ledger.depositCursor(depositAddress)) !== undefined,
      'the watcher',
      { meanwhile: () => localnet.chain.produceBlock() },
    );

    // What `taogate deposit --from //deposit-e2e/payer --amount 0.25` runs, sealing blocks until it lands.
    let output = '';
    const sent = runDepositCommand(
      { chainUrl: localnet.chain.url, from: PAYER, amount: '0.25', to: depositAddress },
      (text) => {
        output += text;
      },
    );
    let landed = false;
    void sent.then(() => {
      landed = true;
    });
    while (!landed) {
      await settle();
      if (!landed) localnet.chain.produceBlock();
    }
    expect(await sent).toBe(0);
    expect(output).toContain('in block');
    // No block is sealed once the transfer has landed, so the best block is the one that includes it.
    const includedIn = localnet.chain.bestBlock();
    while (localnet.chain.bestBlock() < includedIn + CONFIRMATIONS - 1) localnet.chain.produceBlock();
    await settle();
    expect(await balanceOf(payer)).toBe(0n);
    // A re-org before it is confirmed puts the transfer in a block of another hash at the same height.
    localnet.chain.reorg(CONFIRMATIONS);
    await settle();
    expect(await balanceOf(payer)).toBe(0n);

    localnet.chain.produceBlock();
    await waitFor(async () => (await balanceOf(payer)) === 250_000_000n, 'the credit');

    // A re-org deeper than the confirmations moves it to yet another block hash, and a restart after a crash
    // between crediting the block and moving the cursor past it reads that block again.
    localnet.chain.reorg(localnet.chain.bestBlock() - includedIn + 1);
    await gateway.close();
    await store.ledger.setDepositCursor(depositAddress, includedIn - 1);
    gateway = await startGateway(config, pino({ level: 'silent' }));
    await waitFor(
      async () => ((await store.ledger.depositCursor(depositAddress)) ?? 0) >= includedIn + 1,
      'the rescan',
      { meanwhile: () => localnet.chain.produceBlock() },
    );
    expect(await balanceOf(payer)).toBe(250_000_000n);
    const books = await store.ledger.audit();
    expect(books.every((book) => book.balanced)).toBe(true);
    expect(books.map((book) => book.creditedRao)).toEqual([250_000_000n]);
  });
});
