#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  FEATURE_NAMES,
  parseTraces,
  simulateTraffic,
  type Trace,
  traceLine,
  trainLogistic,
  writeOnnxModel,
} from '../router/reranker/index.ts';

const HELP = `train-reranker — trains the miner reranker and writes it as ONNX

Usage:
  node bin/train-reranker.ts --traces <file.jsonl> [--exclude <names>] [--out <model.onnx>]
  node bin/train-reranker.ts --synthesize [--seed <n>] [--requests <n>] [--save-traces <file.jsonl>] [--out <model.onnx>]

  --traces       JSONL a gateway wrote with TAOGATE_RERANKER_TRACES set
  --synthesize   simulate a staged fault mix through the router's selection code instead (models/README.md)
  --exclude      comma-separated features to hold at weight 0 (e.g. incentive,log_stake on localnet traces)
  --out          where the model goes (default models/reranker.onnx); a running gateway picks it up
`;

const DEFAULT_OUT = new URL('../models/reranker.onnx', import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    traces: { type: 'string' },
    synthesize: { type: 'boolean' },
    seed: { type: 'string', default: '1' },
    requests: { type: 'string', default: '30000' },
    'save-traces': { type: 'string' },
    exclude: { type: 'string', default: '' },
    out: { type: 'string', default: DEFAULT_OUT },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help || (!values.traces && !values.synthesize)) {
  process.stdout.write(HELP);
  process.exit(values.help ? 0 : 1);
}

const traces: Trace[] = values.traces
  ? parseTraces(await readFile(values.traces, 'utf8'))
  : simulateTraffic({ seed: Number(values.seed), requests: Number(values.requests) });
if (values['save-traces']) {
  await writeFile(values['save-traces'], traces.map((t) => traceLine(t.features, t.outcome)).join(''));
}
const good = traces.filter((t) => t.outcome === 1).length;
const exclude = values.exclude.split(',').filter((name) => name !== '');
const { model, logLoss } = trainLogistic(traces, { exclude });
await writeOnnxModel(values.out, model);
process.stdout.write(
  `${traces.length} traces (${((100 * good) / traces.length).toFixed(1)}% good), log-loss ${logLoss.toFixed(4)}\n` +
    `weights: ${FEATURE_NAMES.map((name, i) => `${name}=${model.weights[i]!.toFixed(3)}`).join(' ')} ` +
    `bias=${model.bias.toFixed(3)}\nwrote ${values.out}\n`,
);
