import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLError } from 'yaml';
import { type ConfigResult, type GatewayConfig, loadConfig, SETTING_NAMES } from './config.ts';

/** The variable (or `taogate --config`) naming the config file; the file itself may not set it. */
export const CONFIG_FILE_VARIABLE = 'TAOGATE_CONFIG';

type Variables = Record<string, string | undefined>;

/** Where each setting that is set came from: the environment wins over the file. */
export type SettingSources = Record<string, 'env' | 'file'>;

export type LayeredConfigResult =
  | {
      ok: true;
      config: GatewayConfig;
      sources: SettingSources;
      file: string | undefined;
      /** `TAOGATE_*` variables that are no setting (a typo?): ignored, worth a warning. */
      unknownVariables: string[];
    }
  | { ok: false; errors: string[] };

/** A config file's settings as variables, the key each came from, and what was wrong with the others. */
export interface FileSettings {
  variables: Record<string, string>;
  keys: Map<string, string>;
  errors: string[];
}

/**
 * Reads the settings as the gateway starts with them: a JSON or YAML config file (`TAOGATE_CONFIG`, or the
 * `path` given) turned into the `TAOGATE_*` variables its keys stand for, the environment on top, then the
 * one validation every setting goes through (`loadConfig`). Errors name the variable, and for values from
 * the file, the file and the key as written there.
 */
export function loadLayeredConfig(
  env: Variables = process.env,
  path: string | undefined = env[CONFIG_FILE_VARIABLE],
): LayeredConfigResult {
  const fromFile = path
    ? readConfigFile(path)
    : { variables: {}, keys: new Map<string, string>(), errors: [] };
  const sources: SettingSources = {};
  for (const name of Object.keys(fromFile.variables)) sources[name] = 'file';
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('TAOGATE_') && name !== CONFIG_FILE_VARIABLE && value !== undefined) {
      sources[name] = 'env';
    }
  }
  const loaded: ConfigResult = loadConfig({ ...fromFile.variables, ...env });
  if (!loaded.ok || fromFile.errors.length > 0) {
    const errors = (loaded.ok ? [] : loaded.errors).map((error) => {
      const name = error.slice(0, error.indexOf(':'));
      const key = fromFile.keys.get(name);
      const message = error.slice(name.length + 1);
      return sources[name] === 'file' && key ? `${name} (key '${key}' in ${path}):${message}` : error;
    });
    return { ok: false, errors: [...fromFile.errors, ...errors] };
  }
  const unknownVariables = Object.keys(sources).filter(
    (name) => sources[name] === 'env' && !SETTING_NAMES.includes(name),
  );
  return { ok: true, config: loaded.config, sources, file: path, unknownVariables };
}

/**
 * A config file's keys, as `TAOGATE_*` variables. A key is a setting's name without the prefix, in
 * snake_case or camelCase, nested objects joining their keys with `_` (`retry_budget: {ratio: 0.2}` is
 * `TAOGATE_RETRY_BUDGET_RATIO`); `TAOGATE_*` names are accepted as they are. Lists become comma-separated.
 */
export function readConfigFile(path: string): FileSettings {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    // A YAML error's first line names the problem, line and column; the lines after it quote the file.
    const reason =
      error instanceof YAMLError
        ? error.message.split('\n')[0]?.replace(/:$/, '')
        : ((error as NodeJS.ErrnoException).code ?? 'error');
    return unusable(`cannot read ${path}: ${reason}`);
  }
  const variables: Record<string, string> = {};
  const keys = new Map<string, string>();
  const errors: string[] = [];
  if (document === null || document === undefined) return { variables, keys, errors };
  if (!isPlainObject(document)) return unusable(`${path} must hold a mapping of settings`);
  for (const [key, value] of flatten(document)) {
    const name = variableName(key);
    const where = `${name} (key '${key}' in ${path})`;
    if (!SETTING_NAMES.includes(name)) errors.push(`${where}: not a setting the gateway knows`);
    else if (isSecret(name, value)) {
      errors.push(
        `${where}: secrets come from the environment or a secret file (such as TAOGATE_HOTKEY_FILE), never the config file`,
      );
    } else if (value === undefined)
      errors.push(`${where}: must be a string, number, boolean or list of them`);
    else {
      variables[name] = value;
      keys.set(name, key);
    }
  }
  return { variables, keys, errors };
}

function unusable(reason: string): FileSettings {
  return { variables: {}, keys: new Map(), errors: [`${CONFIG_FILE_VARIABLE}: ${reason}`] };
}

/** Hotkeys, passwords, tokens and API keys; URLs only when they carry a password. */
function isSecret(name: string, value: string | undefined): boolean {
  if (name === 'TAOGATE_HOTKEY' || /(SECRET|PASSWORD|TOKEN|API_KEYS?)$/.test(name)) return true;
  return name.endsWith('_URL') && value !== undefined && urlHasPassword(value);
}

function urlHasPassword(value: string): boolean {
  try {
    return new URL(value).password !== '';
  } catch {
    return false;
  }
}

/** Leaves of the document as `[dotted key, value as the environment would hold it]`. */
function* flatten(object: Record<string, unknown>, prefix = ''): Generator<[string, string | undefined]> {
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value === null) continue;
    if (isPlainObject(value)) yield* flatten(value, path);
    else yield [path, scalarText(value)];
  }
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (Array.isArray(value) && value.every((item) => scalarText(item) !== undefined && !Array.isArray(item))) {
    return value.map(String).join(',');
  }
  return undefined;
}

/** `retryBudget.window_ms` → `TAOGATE_RETRY_BUDGET_WINDOW_MS`. */
function variableName(dottedKey: string): string {
  if (dottedKey.startsWith('TAOGATE_')) return dottedKey;
  const words = dottedKey
    .split('.')
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-\s]+/g, '_'));
  return `TAOGATE_${words.join('_').toUpperCase()}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
