import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.ts';

describe('ledger settings', () => {
  it('are off by default, so the gateway needs no keys', () => {
    const loaded = loadConfig({});
    expect(loaded.ok && loaded.config.ledger).toBeUndefined();
  });

  it('default to the embedded store and localnet-friendly deposits', () => {
    const loaded = loadConfig({ TAOGATE_LEDGER: 'sqlite' });
    expect(loaded.ok && loaded.config.ledger).toEqual({
      store: { kind: 'sqlite', path: '.taogate/ledger.db' },
      instanceId: undefined,
      leaseMs: 15_000,
      defaultMaxOutputTokens: 4096,
      deposits: { address: undefined, confirmations: 12 },
    });
  });

  it('name each mistake with its variable', () => {
    expect(loadConfig({ TAOGATE_LEDGER: 'postgres' })).toEqual({
      ok: false,
      errors: ['TAOGATE_DATABASE_URL: required with TAOGATE_LEDGER=postgres'],
    });
    const bad = loadConfig({ TAOGATE_LEDGER: 'mysql', TAOGATE_DEPOSIT_ADDRESS: '5Grwva-not-ss58' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors.map((e) => e.split(':')[0])).toEqual(['TAOGATE_LEDGER', 'TAOGATE_DEPOSIT_ADDRESS']);
    }
  });
});
