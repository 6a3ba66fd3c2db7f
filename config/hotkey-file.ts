import { readFileSync } from 'node:fs';

export type HotkeySecretResult = { ok: true; secret: string } | { ok: false; error: string };

/**
 * Reads the gateway's hotkey secret from a file: either a bittensor wallet hotkey file
 * (`~/.bittensor/wallets/<wallet>/hotkeys/<name>`, JSON with `secretSeed` or `secretPhrase`), or a file
 * holding the mnemonic or 0x seed as text. Errors never include the file's contents.
 */
export function readHotkeyFile(path: string): HotkeySecretResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    return { ok: false, error: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  if (text.startsWith('{')) {
    try {
      const wallet = JSON.parse(text) as { secretSeed?: unknown; secretPhrase?: unknown };
      const secret = wallet.secretSeed ?? wallet.secretPhrase;
      if (typeof secret === 'string' && secret.length > 0) return { ok: true, secret };
    } catch {}
    return { ok: false, error: `${path} is JSON but holds no secretSeed or secretPhrase` };
  }
  return text ? { ok: true, secret: text } : { ok: false, error: `${path} is empty` };
}
