import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCALNET_HOTKEY } from '../config/index.ts';

const CLI = new URL('../bin/taogate.ts', import.meta.url).pathname;

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  child: ChildProcess;
  /** Settles when the process has exited, with its exit code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last few KB of its stderr, for failure messages. */
  stderr(): string;
}

/**
 * Runs `taogate start` as its own process, the way it runs in production, against a chain node that is
 * already up (localnet's, in tests): the gateway signs with localnet's validator hotkey and may dial
 * loopback axons. Resolves once the gateway has read a metagraph and prints that it is serving.
 */
export async function spawnGateway(options: {
  chainUrl: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: {
      PATH: process.env.PATH,
      TAOGATE_NETWORK: options.chainUrl,
      TAOGATE_HOTKEY: LOCALNET_HOTKEY,
      TAOGATE_ALLOW_LOOPBACK_AXONS: 'true',
      TAOGATE_HOST: '127.0.0.1',
      TAOGATE_PORT: '0',
      TAOGATE_LOG_LEVEL: 'warn',
      TAOGATE_SNAPSHOT_DIR: mkdtempSync(join(tmpdir(), 'taogate-snapshot-')),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test runner that dies must not leave gateways behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      resolve({ code, signal });
    }),
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-8000);
  });
  let stdout = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start in time\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const serving = /serving at (http:\/\/\S+)\/v1/.exec(stdout);
      if (serving) {
        clearTimeout(timer);
        resolve(serving[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before serving\n${stderr}`));
    });
  });
  return { url, child, exited, stderr: () => stderr };
}
