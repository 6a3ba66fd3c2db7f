import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** Reads a JSON file, or YAML by its extension; any fault is an error that starts with the file's path. */
export function readDataFile(path: string): unknown {
  try {
    const text = readFileSync(path, 'utf8');
    return /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}
