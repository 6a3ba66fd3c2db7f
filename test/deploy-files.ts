import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { type GatewayConfig, loadLayeredConfig, SETTING_NAMES } from '../config/index.ts';
import type { ComposeService } from './deploy-schema.ts';

/** Reading and checking the files in deploy/, for test/deploy*.test.ts. */

export const ROOT = new URL('..', import.meta.url).pathname;
export const DEPLOY = join(ROOT, 'deploy');
const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
/** Settings that hold credentials: in manifests they come from a Secret, in compose from interpolation. */
export const SECRET_SETTING = /^TAOGATE_(HOTKEY|DATABASE_URL|REDIS_URL)$|SECRET|PASSWORD|TOKEN|API_KEY/;

export function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every document of a YAML file; a syntax error fails with the file named. */
export function readYaml(path: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'), { merge: true });
  const list = Array.isArray(documents) ? documents : [documents];
  for (const document of list) {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]?.message}`);
  }
  return list.map((document) => document.toJS()).filter((value) => value !== null);
}

export function valid<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`${where}\n  ${issues.join('\n  ')}`);
  }
  return parsed.data;
}

/** A config file as the gateway would read it, with a stand-in hotkey file and credentials. */
export function gatewayConfigOf(fileText: string, env: Record<string, string>): GatewayConfig {
  const dir = mkdtempSync(join(tmpdir(), 'taogate-deploy-'));
  const path = join(dir, 'taogate.yaml');
  writeFileSync(path, fileText);
  writeFileSync(join(dir, 'hotkey'), MNEMONIC);
  const loaded = loadLayeredConfig({ ...env, TAOGATE_HOTKEY_FILE: join(dir, 'hotkey') }, path);
  if (!loaded.ok) throw new Error(`${loaded.errors.join('\n')}`);
  return loaded.config;
}

export function expectKnownSettings(names: string[], where: string) {
  for (const name of names.filter((n) => n.startsWith('TAOGATE_'))) {
    expect(SETTING_NAMES.includes(name) || name === 'TAOGATE_CONFIG', `${where}: ${name} is no setting`).toBe(
      true,
    );
  }
  for (const name of names) expect(name, where).toMatch(/^(TAOGATE|OTEL)_/);
}

/** Compose's `${VAR:-default}` / `${VAR:?message}` / `${VAR}`, with stand-ins for unset variables. */
export function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_, name: string, fallback?: string) =>
    fallback !== undefined ? fallback : `stand-in-${name.toLowerCase()}`,
  );
}

/** Paths of the gateway URLs a file calls (comments aside). */
export function urlPathsIn(text: string): string[] {
  const code = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  return [...code.matchAll(/http:\/\/127\.0\.0\.1:[^/'"\s]+(\/[\w/-]*)/g)].map((match) => match[1]!);
}

/** The host side of a service's first `./file:/path` volume. */
export function mountedFile(service: ComposeService): string {
  const volume = (service.volumes ?? []).find((v) => v.startsWith('./'));
  if (!volume) throw new Error(`${service.image} mounts no config file`);
  return volume.split(':')[0]!;
}

/** The repository's TypeScript modules a file imports, directly or not (static and dynamic relative imports). */
export function modulesReachableFrom(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  for (let module = queue.pop(); module !== undefined; module = queue.pop()) {
    if (seen.has(module)) continue;
    seen.add(module);
    const source = readFileSync(module, 'utf8');
    for (const [, specifier] of source.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+\.ts)'/g)) {
      queue.push(join(dirname(module), specifier!));
    }
  }
  return [...seen];
}
