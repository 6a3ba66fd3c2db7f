import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MetagraphSnapshot } from './metagraph.ts';
import { metagraphSnapshotSchema } from './snapshot-schema.ts';

export type SnapshotLoad =
  | { ok: true; snapshot: MetagraphSnapshot }
  | { ok: false; reason: 'missing' | 'unreadable' | 'invalid'; detail: string };

/**
 * Reads a persisted snapshot. Synchronous on purpose: it runs once at start-up so that `current()` answers
 * from the first call, before the chain connection exists.
 */
export function loadSnapshotFile(path: string): SnapshotLoad {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    return { ok: false, reason: missing ? 'missing' : 'unreadable', detail: String(error) };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'invalid', detail: String(error) };
  }
  const parsed = metagraphSnapshotSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'invalid', detail: parsed.error.message };
  return { ok: true, snapshot: parsed.data };
}

let tempCounter = 0;

/** Writes beside the target and renames, so a crash mid-write never leaves a torn snapshot behind. */
export async function writeSnapshotFile(path: string, snapshot: MetagraphSnapshot): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${++tempCounter}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(snapshot));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export interface SnapshotWriter {
  /** Queues a write; while one is in flight only the newest pending snapshot is kept. */
  save(snapshot: MetagraphSnapshot): void;
  /** Resolves when nothing is left to write. */
  flush(): Promise<void>;
}

export function createSnapshotWriter(path: string, onError: (error: unknown) => void): SnapshotWriter {
  let pending: MetagraphSnapshot | undefined;
  let running: Promise<void> | undefined;

  const drain = async (): Promise<void> => {
    while (pending) {
      const next = pending;
      pending = undefined;
      await writeSnapshotFile(path, next).catch(onError);
    }
    running = undefined;
  };

  return {
    save(snapshot) {
      pending = snapshot;
      running ??= drain();
    },
    flush: () => running ?? Promise.resolve(),
  };
}
