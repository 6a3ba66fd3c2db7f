import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where a running localnet leaves its chain node's URL, so `taogate deposit` finds it without flags. */
const LOCALNET_CHAIN_FILE = '.taogate/localnet-chain.json';

export function writeChainUrlFile(url: string, path = LOCALNET_CHAIN_FILE): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ url, pid: process.pid })}\n`);
}

/** The URL of the localnet still running, if its file is there and its process alive. */
export function readChainUrlFile(path = LOCALNET_CHAIN_FILE): string | undefined {
  try {
    const { url, pid } = JSON.parse(readFileSync(path, 'utf8')) as { url?: unknown; pid?: unknown };
    if (typeof url !== 'string' || typeof pid !== 'number') return undefined;
    process.kill(pid, 0);
    return url;
  } catch {
    return undefined;
  }
}

export function removeChainUrlFile(path = LOCALNET_CHAIN_FILE): void {
  rmSync(path, { force: true });
}
