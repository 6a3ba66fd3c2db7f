import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { type GatewayConfig, loadLayeredConfig, SETTING_NAMES } from '../config/index.ts';
import type { ComposeService } from './deploy-schema.ts';

/** Reading and checking the files in deploy/, for test/deploy*.test.ts. */

export const ROOT = new URL('..', import.meta.url).pathname;
export const DEPLOY = join(ROOT, 'deploy');
const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
/**
 * What shutdown takes past the drain: 1 s for cut streams' error events to go out, up to 5 s for cut
 * requests to settle their charges (gateway/server.ts, gateway/start.ts), and closing pools and stores.
 */
export const SHUTDOWN_AFTER_DRAIN_S = 8;
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

/**
 * What `node <entry>` loads: the repository's modules it imports, directly or not, and the npm packages
 * they load at run time (type-only imports are erased by Node's type stripping, so they do not count).
 */
export function importsReachableFrom(entry: string): { modules: string[]; packages: string[] } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  for (let module = queue.pop(); module !== undefined; module = queue.pop()) {
    if (modules.has(module)) continue;
    modules.add(module);
    for (const specifier of runtimeSpecifiers(module, readFileSync(module, 'utf8'))) {
      if (specifier.startsWith('.')) queue.push(join(dirname(module), specifier));
      else if (!specifier.startsWith('node:')) {
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
      }
    }
  }
  return { modules: [...modules], packages: [...packages] };
}

/** Specifiers a module loads when it runs: value imports and re-exports, and dynamic `import()`. */
function* runtimeSpecifiers(path: string, source: string): Generator<string> {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest);
  const visit = function* (node: ts.Node): Generator<string> {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      yield (node.moduleSpecifier as ts.StringLiteral).text;
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      yield (node.moduleSpecifier as ts.StringLiteral).text;
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      yield node.arguments[0].text;
    }
    for (const child of node.getChildren(file)) yield* visit(child);
  };
  yield* visit(file);
}
