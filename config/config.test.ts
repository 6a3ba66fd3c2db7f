import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { loadConfig } from './config.ts';
import { loadProfiles } from './profiles.ts';
import { LOCALNET_HOTKEY, NETWORKS } from './settings-schema.ts';

const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

describe('configuration', () => {
  it('defaults to localnet with its dev hotkey', () => {
    const result = loadConfig({});
    expect(result).toMatchObject({
      ok: true,
      config: { network: 'localnet', hotkeySecret: LOCALNET_HOTKEY },
    });
  });

  it('names every bad key', () => {
    const result = loadConfig({
      TAOGATE_PORT: 'eighty',
      TAOGATE_NETWORK: 'mainnet',
      TAOGATE_DEADLINE_MS: '-1',
    });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.join('\n');
    expect(errors).toMatch(/TAOGATE_PORT/);
    expect(errors).toMatch(/TAOGATE_NETWORK/);
    expect(errors).toMatch(/TAOGATE_DEADLINE_MS/);
  });

  it('requires a hotkey outside localnet and points finney at its public endpoint', () => {
    expect(loadConfig({ TAOGATE_NETWORK: 'finney' })).toMatchObject({ ok: false });
    expect(loadConfig({ TAOGATE_NETWORK: 'finney', TAOGATE_HOTKEY: MNEMONIC })).toMatchObject({
      ok: true,
      config: { chainUrl: NETWORKS.finney, allowLoopbackAxons: false },
    });
  });

  it('reads the hotkey from a bittensor wallet file, and never echoes a secret in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taogate-key-'));
    const wallet = join(dir, 'default');
    writeFileSync(wallet, JSON.stringify({ secretPhrase: MNEMONIC, ss58Address: 'ignored' }));
    const result = loadConfig({ TAOGATE_NETWORK: 'finney', TAOGATE_HOTKEY_FILE: wallet });
    expect(result.ok && (await hotkeyFromSecret(result.config.hotkeySecret)).ss58).toBe(
      (await hotkeyFromSecret(MNEMONIC)).ss58,
    );
    const broken = join(dir, 'broken');
    writeFileSync(broken, '{"secretPhrase": 42, "note": "bottom drive obey"}');
    const failed = loadConfig({ TAOGATE_NETWORK: 'finney', TAOGATE_HOTKEY_FILE: broken });
    expect(failed.ok).toBe(false);
    expect(JSON.stringify(failed)).not.toContain('bottom drive');
  });

  it('stops on a subnet profile mistake, naming the file, the subnet and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taogate-profiles-'));
    const path = join(dir, 'subnets.json');
    const subnet = {
      netuid: 7,
      name: 'x',
      task: 'chat',
      models: ['m'],
      protocol: 'synapse',
      timeoutSeconds: 'soon',
    };
    writeFileSync(path, JSON.stringify({ subnets: [subnet] }));
    expect(() => loadProfiles(path)).toThrow(new RegExp(`${path}.*subnet 7.*timeoutSeconds`));
  });

  it('refuses a fallback to a model no profile serves', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taogate-profiles-'));
    const path = join(dir, 'subnets.json');
    const [apex] = loadProfiles().filter((p) => p.netuid === 1);
    writeFileSync(path, JSON.stringify({ subnets: [{ ...apex, fallback: ['sn9/nowhere'] }] }));
    expect(() => loadProfiles(path)).toThrow(/subnet 1, field fallback: no model 'sn9\/nowhere'/);
  });
});
