import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../bin/taogate.ts', import.meta.url).pathname;
const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
const dir = mkdtempSync(join(tmpdir(), 'taogate-cli-'));

async function taogate(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

// Each run loads the whole CLI in a new Node process: give a loaded CI machine time for that.
describe('the taogate command', { timeout: 60_000 }, () => {
  it('describes its commands, and each command on its own', async () => {
    const help = await taogate(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['start', 'localnet', 'check-config', '--config'])
      expect(help.stdout).toContain(command);
    const start = await taogate(['start', '--help']);
    expect(start).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: taogate start/) });
    expect(start.stdout).toContain('TAOGATE_DRAIN_MS');
  });

  it('prints the effective configuration from file and environment, with every secret redacted', async () => {
    const hotkeyFile = join(dir, 'hotkey');
    writeFileSync(hotkeyFile, MNEMONIC);
    const config = join(dir, 'taogate.yaml');
    writeFileSync(config, `network: finney\nport: 9000\nhotkey_file: ${hotkeyFile}\nledger: postgres\n`);
    const checked = await taogate(['check-config', '--config', config], {
      TAOGATE_PORT: '9100',
      TAOGATE_DATABASE_URL: 'postgres://taogate:hunter2@db:5432/taogate',
      TAOGATE_REDIS_URL: 'redis://:s3cret@redis:6379/0',
    });
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^ok: network finney, .* hotkey 5\w{47}$/m);
    expect(checked.stdout).toContain(`from ${config}: TAOGATE_HOTKEY_FILE, TAOGATE_LEDGER, TAOGATE_NETWORK`);
    expect(checked.stdout).toMatch(/from the environment: .*TAOGATE_PORT/);
    expect(checked.stdout).toContain('"port": 9100');
    expect(checked.stdout).toContain('postgres://taogate:***@db:5432/taogate');
    expect(checked.stdout).toContain('redis://:***@redis:6379/0');
    for (const secret of ['hunter2', 's3cret', 'bottom drive']) expect(checked.stdout).not.toContain(secret);
  });

  it('stops with exit code 2 naming the variable, the file and the key of each mistake', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, `port: eighty\nhotkey: ${MNEMONIC}\n`);
    const checked = await taogate(['check-config'], { TAOGATE_CONFIG: config });
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain(`TAOGATE_PORT (key 'port' in ${config})`);
    expect(checked.stderr).toContain(`TAOGATE_HOTKEY (key 'hotkey' in ${config}): secrets come from`);
    expect(checked.stderr).not.toContain('bottom drive');
  });
});
