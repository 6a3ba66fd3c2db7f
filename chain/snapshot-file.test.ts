import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetagraphSnapshot } from './metagraph.ts';
import { createSnapshotWriter, loadSnapshotFile, writeSnapshotFile } from './snapshot-file.ts';

const snapshot = (block: number): MetagraphSnapshot => ({
  block,
  readAt: 1_700_000_000_000,
  subnets: [{ netuid: 1, tempo: 360, neuronCount: 0, neurons: [] }],
});

describe('persisted metagraph snapshot', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'taogate-snapshot-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('reads back what was written, leaving no temporary file', async () => {
    const path = join(directory, 'nested', 'metagraph.json');
    await writeSnapshotFile(path, snapshot(7));
    expect(loadSnapshotFile(path)).toEqual({ ok: true, snapshot: snapshot(7) });
    expect(await readdir(join(directory, 'nested'))).toEqual(['metagraph.json']);
  });

  it('reports a missing file and refuses one that is not a snapshot', async () => {
    expect(loadSnapshotFile(join(directory, 'absent.json'))).toMatchObject({ ok: false, reason: 'missing' });
    const path = join(directory, 'metagraph.json');
    await writeFile(path, JSON.stringify({ block: 'soon', subnets: [] }));
    expect(loadSnapshotFile(path)).toMatchObject({ ok: false, reason: 'invalid' });
    await writeFile(path, '{"block": 1, "readAt": 2, "subn');
    expect(loadSnapshotFile(path)).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('writes only the newest snapshot when several arrive during a write', async () => {
    const path = join(directory, 'metagraph.json');
    const writer = createSnapshotWriter(path, (error) => {
      throw error;
    });
    for (let block = 1; block <= 5; block++) writer.save(snapshot(block));
    await writer.flush();
    expect(loadSnapshotFile(path)).toEqual({ ok: true, snapshot: snapshot(5) });
  });
});
