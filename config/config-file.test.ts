import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLayeredConfig } from './config-file.ts';
import { REDACTED, redactSecrets } from './redact-secrets.ts';

const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
const dir = mkdtempSync(join(tmpdir(), 'taogate-config-file-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('config file', () => {
  it('maps YAML keys (snake_case, camelCase, nested) onto the TAOGATE_* settings', () => {
    const path = file(
      'taogate.yaml',
      'port: 9090\nnetwork: localnet\ndeadlineMs: 5000\nretry_budget:\n  ratio: 0.5\n  window_ms: 20000\nhedge: off\n',
    );
    const result = loadLayeredConfig({}, path);
    expect(result).toMatchObject({
      ok: true,
      config: {
        port: 9090,
        deadlineMs: 5000,
        resilience: { retryBudget: { ratio: 0.5, windowMs: 20000 } },
        hedge: undefined,
      },
    });
    expect(result.ok && result.sources).toMatchObject({ TAOGATE_PORT: 'file', TAOGATE_DEADLINE_MS: 'file' });
  });

  it('reads JSON and TAOGATE_* names as they are, and lets the environment override the file', () => {
    const path = file('taogate.json', JSON.stringify({ TAOGATE_PORT: 9091, max_attempts: 3 }));
    const result = loadLayeredConfig({ TAOGATE_PORT: '7000', TAOGATE_CONFIG: path, TAOGATE_PROT: '1' });
    expect(result).toMatchObject({
      ok: true,
      config: { port: 7000, maxAttempts: 3 },
      unknownVariables: ['TAOGATE_PROT'],
    });
    expect(result.ok && result.sources).toMatchObject({ TAOGATE_PORT: 'env', TAOGATE_MAX_ATTEMPTS: 'file' });
  });

  it('names the variable, the key and the file of every mistake, all at once', () => {
    const path = file('bad.yaml', 'port: eighty\nprot: 1\nbreaker:\n  failures: [1, [2]]\n');
    const result = loadLayeredConfig({}, path);
    expect(result.ok).toBe(false);
    const errors = result.ok ? '' : result.errors.join('\n');
    expect(errors).toContain(`TAOGATE_PORT (key 'port' in ${path})`);
    expect(errors).toContain(`TAOGATE_PROT (key 'prot' in ${path}): not a setting the gateway knows`);
    expect(errors).toContain(`TAOGATE_BREAKER_FAILURES (key 'breaker.failures' in ${path})`);
  });

  it('reports a file that is missing or not YAML with its path', () => {
    expect(loadLayeredConfig({}, join(dir, 'missing.yaml'))).toEqual({
      ok: false,
      errors: [`TAOGATE_CONFIG: cannot read ${join(dir, 'missing.yaml')}: ENOENT`],
    });
    const broken = file('broken.yaml', 'port: [1\n');
    const result = loadLayeredConfig({}, broken);
    expect(result.ok ? '' : result.errors[0]).toMatch(
      new RegExp(`^TAOGATE_CONFIG: cannot read ${broken}: .*line`),
    );
  });

  it('refuses secrets in the config file without echoing them', () => {
    const path = file(
      'secrets.yaml',
      `hotkey: ${MNEMONIC}\nnetwork: finney\nhotkey_file: ${file('hotkey', MNEMONIC)}\n`,
    );
    const result = loadLayeredConfig({}, path);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.errors.join('\n')).toMatch(
      /TAOGATE_HOTKEY \(key 'hotkey' in .*\): secrets come/,
    );
    expect(JSON.stringify(result)).not.toContain('bottom drive');
    // The secret itself may come from the environment or a file named in the config file.
    expect(loadLayeredConfig({ TAOGATE_HOTKEY: MNEMONIC, TAOGATE_NETWORK: 'finney' }, undefined).ok).toBe(
      true,
    );
    const withFile = file('with-file.yaml', `network: finney\nhotkey_file: ${join(dir, 'hotkey')}\n`);
    expect(loadLayeredConfig({}, withFile).ok).toBe(true);
  });
});

describe('redacting secrets for printing', () => {
  it('hides secret fields and URL passwords, keeping hosts and everything else', () => {
    const printed = redactSecrets({
      hotkeySecret: MNEMONIC,
      port: 8080,
      ledger: { databaseUrl: 'postgres://taogate:hunter2@db:5432/taogate?sslmode=require' },
      redisUrl: 'redis://:s3cret@redis:6379/0',
      plainUrl: 'redis://redis:6379',
      apiKeys: ['sk-1', 'sk-2'],
      auth: { adminToken: 'tok' },
    });
    expect(printed).toEqual({
      hotkeySecret: REDACTED,
      port: 8080,
      ledger: { databaseUrl: 'postgres://taogate:***@db:5432/taogate?sslmode=require' },
      redisUrl: 'redis://:***@redis:6379/0',
      plainUrl: 'redis://redis:6379',
      apiKeys: REDACTED,
      auth: { adminToken: REDACTED },
    });
  });
});
