import { rename, writeFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION } from './features.ts';
import type { LinearModel } from './linear-model.ts';

const { onnx } = onnxProto;

/** The ONNX interface the runtime relies on: rename both sides together. */
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'score';

/** Opset 13 has every op used here in its current form and loads in any onnxruntime of the last years. */
const OPSET = 13;
/** IR version 7 goes with opset 13 (onnx/docs/Versioning.md). */
const IR_VERSION = 7;

/**
 * The model as a standard ONNX graph: features [N, F] → MatMul W [F, 1] → Add b [1] → Sigmoid → score
 * [N, 1]. N is symbolic, so one run scores every candidate of a request. Feature names and version go in
 * the metadata, so a model file says what it expects.
 */
export function linearModelToOnnx(model: LinearModel): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: 'taogate_miner_reranker',
    input: [tensorInfo(INPUT_NAME, 'N', FEATURE_COUNT)],
    output: [tensorInfo(OUTPUT_NAME, 'N', 1)],
    initializer: [
      floatTensor('weights', [FEATURE_COUNT, 1], model.weights),
      floatTensor('bias', [1], [model.bias]),
    ],
    node: [
      node('MatMul', [INPUT_NAME, 'weights'], ['logit_unbiased']),
      node('Add', ['logit_unbiased', 'bias'], ['logit']),
      node('Sigmoid', ['logit'], [OUTPUT_NAME]),
    ],
  });
  const message = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'taogate',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
    metadataProps: [
      { key: 'feature_names', value: FEATURE_NAMES.join(',') },
      { key: 'feature_version', value: String(FEATURE_VERSION) },
    ],
  });
  return onnx.ModelProto.encode(message).finish();
}

/**
 * Writes the model beside `path` and renames it into place: a gateway polling the file sees the old model
 * or the new one, never half of one.
 */
export async function writeOnnxModel(path: string, model: LinearModel): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, linearModelToOnnx(model));
  await rename(partial, path);
}

function node(opType: string, input: string[], output: string[]) {
  return onnx.NodeProto.create({ opType, input, output, name: output[0] });
}

function floatTensor(name: string, dims: number[], values: readonly number[]) {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    floatData: [...values],
  });
}

function tensorInfo(name: string, rows: string, columns: number) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: rows }, { dimValue: columns }] },
      },
    },
  });
}
