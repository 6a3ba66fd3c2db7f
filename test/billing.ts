import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAddress } from '@polkadot/util-crypto';
import { pino } from 'pino';
import { generateApiKey, type Ledger, type LedgerLocation, openLedger } from '../billing/index.ts';
import { DEFAULT_PROFILES_PATH, type Price } from '../config/index.ts';
import { createTestSchema } from './postgres.ts';

/** A ledger store for a test run: a fresh SQLite file, or a fresh PostgreSQL schema. */
export interface TestLedger {
  location: LedgerLocation;
  /** What the gateway is configured with to use this store. */
  env: Record<string, string>;
  /** The same store opened as the operator's CLI would: to fund accounts and read balances. */
  ledger: Ledger;
  dispose(): Promise<void>;
}

export async function createTestLedger(kind: 'sqlite' | 'postgres'): Promise<TestLedger> {
  let location: LedgerLocation;
  let env: Record<string, string>;
  let cleanUp: () => Promise<void>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'taogate-billing-'));
    const path = join(dir, 'ledger.db');
    location = { kind, path };
    env = { TAOGATE_LEDGER: 'sqlite', TAOGATE_LEDGER_PATH: path };
    cleanUp = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = await createTestSchema('taogate_billing');
    location = { kind, url: schema.url };
    env = { TAOGATE_LEDGER: 'postgres', TAOGATE_DATABASE_URL: schema.url };
    cleanUp = schema.drop;
  }
  const ledger = await openLedger(location, pino({ level: 'silent' }));
  return {
    location,
    env,
    ledger,
    async dispose() {
      await ledger.close();
      await cleanUp();
    },
  };
}

/** A coldkey address nobody holds the key of: accounts in tests only need one to be bound to. */
export function randomColdkey(): string {
  return encodeAddress(randomBytes(32), 42);
}

/** An account holding `rao`, credited as a deposit would be, with one API key. */
export async function fundedAccount(
  ledger: Ledger,
  rao: bigint,
  key: { spendCapRao?: bigint; ratePerMinute?: number } = {},
) {
  const account = await ledger.createAccount({ coldkey: randomColdkey(), nowMs: Date.now() });
  if (rao > 0n) {
    await ledger.creditDeposit({
      blockHash: `0x${randomBytes(32).toString('hex')}`,
      eventIndex: 0,
      blockNumber: 1,
      extrinsicIndex: 0,
      fromColdkey: account.coldkey,
      amountRao: rao,
      nowMs: Date.now(),
    });
  }
  const apiKey = generateApiKey();
  await ledger.addKey({ id: apiKey.id, accountId: account.id, hash: apiKey.hash, nowMs: Date.now(), ...key });
  return { account, keyId: apiKey.id, secret: apiKey.secret };
}

/**
 * The shipped subnet profiles with one flat price per request and nothing per token (or the prices given
 * per netuid), so a test knows exactly what each answer costs. Returns the file's path and a cleanup.
 */
export function flatPriceProfiles(
  raoPerRequest: number,
  byNetuid: Record<number, Partial<Price>> = {},
): { path: string; remove(): void } {
  const raw = JSON.parse(readFileSync(DEFAULT_PROFILES_PATH, 'utf8')) as {
    subnets: { netuid: number; price?: Partial<Price> }[];
  };
  for (const subnet of raw.subnets) subnet.price = byNetuid[subnet.netuid] ?? { perRequest: raoPerRequest };
  const dir = mkdtempSync(join(tmpdir(), 'taogate-prices-'));
  const path = join(dir, 'subnets.json');
  writeFileSync(path, JSON.stringify(raw));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `condition` until it holds (running `meanwhile` between polls, e.g. to seal a block), or fails. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: { meanwhile?: () => void; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    options.meanwhile?.();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
