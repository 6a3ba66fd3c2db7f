import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURE_COUNT, FEATURE_NAMES } from './features.ts';
import { type LinearModel, scoreReference } from './linear-model.ts';
import { INPUT_NAME, linearModelToOnnx, OUTPUT_NAME, writeOnnxModel } from './onnx-export.ts';

const dir = await mkdtemp(join(tmpdir(), 'taogate-onnx-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Deterministic pseudo-random numbers in [-range, range]. */
function numbers(count: number, range: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return (state / 2 ** 31) * 2 * range - range;
  });
}

const model: LinearModel = { weights: Array.from(numbers(FEATURE_COUNT, 3, 7)), bias: -0.4 };

describe('the ONNX export', () => {
  it('loads in onnxruntime-node and scores as the TypeScript forward pass does, within 1e-5', async () => {
    const session = await InferenceSession.create(linearModelToOnnx(model));
    const rows = 500;
    const features = numbers(rows * FEATURE_COUNT, 4, 11);
    const output = await session.run({
      [INPUT_NAME]: new Tensor('float32', features, [rows, FEATURE_COUNT]),
    });
    const scores = output[OUTPUT_NAME]!;
    expect(scores.dims).toEqual([rows, 1]);
    const reference = scoreReference(model, features, rows);
    for (let row = 0; row < rows; row++) {
      expect(Math.abs((scores.data as Float32Array)[row]! - reference[row]!)).toBeLessThan(1e-5);
    }
    await session.release();
  });

  it('writes a file whose metadata names the features it expects', async () => {
    const path = join(dir, 'model.onnx');
    await writeOnnxModel(path, model);
    const session = await InferenceSession.create(path);
    expect(session.inputNames).toEqual([INPUT_NAME]);
    expect(session.outputNames).toEqual([OUTPUT_NAME]);
    const output = await session.run({
      [INPUT_NAME]: new Tensor('float32', new Float32Array(FEATURE_COUNT), [1, FEATURE_COUNT]),
    });
    expect((output[OUTPUT_NAME]!.data as Float32Array)[0]).toBeCloseTo(1 / (1 + Math.exp(0.4)), 6);
    const decoded = onnxProto.onnx.ModelProto.decode(await readFile(path));
    const names = decoded.metadataProps.find((entry) => entry.key === 'feature_names')?.value;
    expect(names?.split(',')).toEqual(FEATURE_NAMES);
    await session.release();
  });
});
