import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.ts';
import { createTestLedger, randomColdkey, type TestLedger } from '../test/billing.ts';
import { runAccountsCommand } from './admin-commands.ts';
import { parseApiKey } from './api-keys.ts';

describe('taogate accounts', () => {
  let store: TestLedger;
  const silent = pino({ level: 'silent' });

  beforeAll(async () => {
    store = await createTestLedger('sqlite');
  });
  afterAll(() => store?.dispose());

  /** Runs `taogate accounts …` as the CLI does; its output and exit code. */
  const accounts = async (args: string[], options = {}) => {
    const loaded = loadConfig(store.env);
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    let output = '';
    const code = await runAccountsCommand(args, options, loaded.config, silent, (text) => {
      output += text;
    });
    return { code, output };
  };

  it('opens an account, issues a key once, revokes it, and audits every balance', async () => {
    const coldkey = randomColdkey();
    const created = await accounts(['create', coldkey], { name: 'app', json: true });
    expect(created.code).toBe(0);
    const account = JSON.parse(created.output) as { id: string; balance_rao: string };
    expect(account.balance_rao).toBe('0');
    expect((await accounts(['create', coldkey])).code).toBe(2);

    const issued = await accounts(['keys', coldkey, 'create'], {
      json: true,
      'spend-cap': '1.5',
      'rate-limit': '60',
    });
    const { id, key } = JSON.parse(issued.output) as { id: string; key: string };
    expect(key).toMatch(/^tg_[0-9a-f]{16}_/);
    const listed = await accounts(['keys', account.id], { json: true });
    expect(listed.output).not.toContain(parseApiKey(key)!.secretPart);
    expect(JSON.parse(listed.output)).toEqual([
      expect.objectContaining({ id, spend_cap_rao: '1500000000', rate_limit_per_minute: 60, revoked: false }),
    ]);
    expect((await accounts(['keys', coldkey, 'revoke', id])).output).toBe(`revoked ${id}\n`);
    expect((await store.ledger.key(id))?.revokedAt).not.toBeNull();

    const books = await accounts(['list'], { json: true });
    expect(books.code).toBe(0);
    expect(JSON.parse(books.output)).toEqual([expect.objectContaining({ id: account.id, balanced: true })]);
    expect((await accounts(['usage', coldkey])).code).toBe(0);
  });

  it('names what is wrong and exits 2', async () => {
    expect(await accounts(['create', 'not-an-address'])).toMatchObject({ code: 2 });
    expect((await accounts(['keys', 'acct_missing'])).output).toContain('no account acct_missing');
    const off = loadConfig({});
    if (!off.ok) throw new Error('config');
    let output = '';
    expect(await runAccountsCommand(['list'], {}, off.config, silent, (t) => (output += t))).toBe(2);
    expect(output).toContain('TAOGATE_LEDGER');
  });
});
