import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelKindOf } from './definition.ts';
import { loadPipelines } from './pipeline-file.ts';

const kindOf: ModelKindOf = (model) => (model.startsWith('sn1/') ? 'chat' : undefined);
const dir = mkdtempSync(join(tmpdir(), 'taogate-pipeline-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const YAML = `pipelines:
  fine:
    steps:
      - id: one
        model: sn1/apex-chat
  broken:
    steps:
      - id: one
        model: sn1/apex-chat
      - id: two
        model: sn9/gone
        input: '{{steps.one.output}}'
`;

describe('the pipelines file', () => {
  it('reads YAML and JSON alike', () => {
    const fromYaml = loadPipelines(
      file('ok.yaml', 'pipelines:\n  fine:\n    steps:\n      - {id: one, model: sn1/apex-chat}\n'),
      kindOf,
    );
    const fromJson = loadPipelines(
      file(
        'ok.json',
        JSON.stringify({ pipelines: { fine: { steps: [{ id: 'one', model: 'sn1/apex-chat' }] } } }),
      ),
      kindOf,
    );
    expect([...fromYaml.keys()]).toEqual(['fine']);
    expect(fromJson.get('fine')?.steps[0]?.input.source).toBe('{{input}}');
  });

  it('stops at a mistake, naming the file, the pipeline, the step and the field', () => {
    const path = file('broken.yaml', YAML);
    expect(() => loadPipelines(path, kindOf)).toThrow(
      `${path}: pipeline 'broken', step 'two', field steps.1.model: unknown model 'sn9/gone'`,
    );
  });

  it('leaves out what it cannot run when asked to, saying why', () => {
    const skipped: string[] = [];
    const pipelines = loadPipelines(file('lenient.yaml', YAML), kindOf, (problem) => skipped.push(problem));
    expect([...pipelines.keys()]).toEqual(['fine']);
    expect(skipped).toEqual([expect.stringContaining("pipeline 'broken', step 'two'")]);
  });

  it('refuses pipeline names that cannot be model ids', () => {
    const path = file('names.json', JSON.stringify({ pipelines: { 'a b': { steps: [] } } }));
    expect(() => loadPipelines(path, kindOf)).toThrow(/pipeline 'a b': a name is letters, digits/);
  });
});
