import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfiles } from './profiles.ts';

function fileWith(subnets: unknown[], name = 'subnets.json'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'taogate-profiles-')), name);
  writeFileSync(path, name.endsWith('.json') ? JSON.stringify({ subnets }) : subnets.join('\n'));
  return path;
}

const embeddings = {
  netuid: 5,
  name: 'e',
  task: 'embeddings',
  models: ['embed'],
  protocol: 'synapse',
  timeoutSeconds: 5,
  embeddings: { dimensions: 8 },
  synapse: {
    name: 'TextEmbeddingSynapse',
    requiredHashFields: ['texts'],
    inputField: 'texts',
    outputField: 'results',
  },
};
const upstream = {
  netuid: 64,
  name: 'o',
  task: 'chat',
  models: ['m'],
  protocol: 'openai',
  timeoutSeconds: 5,
  upstream: { baseUrls: ['https://api.example.com/v1'], apiKeyEnv: 'EXAMPLE_KEY' },
};

describe('subnet profiles', () => {
  it('fills in what a profile may leave out', () => {
    const [profile] = loadProfiles(fileWith([embeddings]));
    expect(profile).toMatchObject({
      embeddings: { dimensions: 8, variableDimensions: false, maxBatchInputs: 16 },
      checks: { minTextChars: 1, unitNorm: false },
      price: { perRequest: 0 },
      fallback: [],
    });
  });

  it.each([
    ['an unknown protocol', { ...embeddings, protocol: 'grpc' }, 'subnet 5, field protocol'],
    [
      'a missing field',
      { ...embeddings, synapse: { ...embeddings.synapse, outputField: undefined } },
      'subnet 5, field synapse.outputField',
    ],
    [
      'a bad type',
      { ...embeddings, embeddings: { dimensions: 'many' } },
      'subnet 5, field embeddings.dimensions',
    ],
    [
      'a task without its section',
      { ...embeddings, embeddings: undefined },
      'subnet 5, field embeddings: required for task embeddings',
    ],
    [
      'a task without its synapse field',
      { ...embeddings, synapse: { ...embeddings.synapse, inputField: undefined } },
      'subnet 5, field synapse.inputField: required for task embeddings',
    ],
    [
      'a key in place of a variable name',
      { ...upstream, upstream: { ...upstream.upstream, apiKeyEnv: 'sk-123' } },
      'subnet 64, field upstream.apiKeyEnv',
    ],
    [
      'a base URL that is not http(s)',
      { ...upstream, upstream: { ...upstream.upstream, baseUrls: ['file:///etc'] } },
      'subnet 64, field upstream.baseUrls.0',
    ],
  ])('stops on %s, naming the file, the subnet and the field', (_, subnet, message) => {
    const path = fileWith([subnet]);
    expect(() => loadProfiles(path, { EXAMPLE_KEY: 'x' })).toThrow(`${path}: ${message}`);
  });

  it('stops when the variable holding an upstream’s key is not set, naming it but never a key', () => {
    const path = fileWith([upstream]);
    expect(() => loadProfiles(path, {})).toThrow(
      `${path}: subnet 64, field upstream.apiKeyEnv: the variable EXAMPLE_KEY is not set`,
    );
    expect(loadProfiles(path, { EXAMPLE_KEY: 'sk-1' })[0]).toMatchObject({ protocol: 'openai' });
  });

  it('refuses a fallback to another task, and any fallback for embeddings', () => {
    const chat = { ...upstream, netuid: 65, fallback: ['sn5/embed'] };
    expect(() => loadProfiles(fileWith([embeddings, chat]), { EXAMPLE_KEY: 'x' })).toThrow(
      "subnet 65, field fallback: 'sn5/embed' serves embeddings, not chat",
    );
    const other = { ...embeddings, netuid: 6, fallback: ['sn5/embed'] };
    expect(() => loadProfiles(fileWith([embeddings, other]))).toThrow('embeddings cannot fall back');
  });

  it('reads YAML, and names the line of a YAML mistake', () => {
    const yaml = fileWith(['subnets:', '  - netuid: 5', '    name: [unclosed'], 'subnets.yaml');
    expect(() => loadProfiles(yaml)).toThrow(new RegExp(`${yaml}: .*line`));
  });
});
