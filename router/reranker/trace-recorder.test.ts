import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURE_COUNT } from './features.ts';
import { createTraceRecorder } from './trace-recorder.ts';
import { parseTraces } from './train.ts';

const dir = await mkdtemp(join(tmpdir(), 'taogate-traces-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const rowOf = (value: number) => new Float32Array(FEATURE_COUNT).fill(value);

describe('the trace recorder', () => {
  it('keeps the newest attempts when more come than it holds', async () => {
    const recorder = createTraceRecorder({ capacity: 3 });
    for (let i = 0; i < 5; i++) recorder.record(rowOf(i), 0, i % 2 === 0 ? 1 : 0);
    expect(recorder.recent().map((trace) => [trace.features[0], trace.outcome])).toEqual([
      [2, 1],
      [3, 0],
      [4, 1],
    ]);
    await recorder.close();
  });

  it('appends each attempt once to its JSONL file, readable by the trainer', async () => {
    const path = join(dir, 'traces.jsonl');
    const recorder = createTraceRecorder({ path, flushMs: 60_000 });
    recorder.record(rowOf(0.5), 0, 1);
    await recorder.flush();
    const wide = new Float32Array(FEATURE_COUNT * 2).fill(0.25, FEATURE_COUNT);
    recorder.record(wide, FEATURE_COUNT, 0);
    await recorder.close();
    const traces = parseTraces(await readFile(path, 'utf8'));
    expect(traces).toEqual([
      { features: Array.from(rowOf(0.5)), outcome: 1 },
      { features: Array.from(rowOf(0.25)), outcome: 0 },
    ]);
  });
});
