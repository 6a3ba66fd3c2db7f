import { z } from 'zod';
import { readDataFile } from '../../config/data-file.ts';
import { checkPipeline, type ModelKindOf, type Pipeline } from './definition.ts';

/** Named pipelines are called as the model `pipeline/<name>`. */
export const PIPELINE_MODEL_PREFIX = 'pipeline/';

const pipelinesFile = z.strictObject({ pipelines: z.record(z.string(), z.unknown()) });

/** What may follow `pipeline/` in a model id. */
const PIPELINE_NAME = /^[\w.-]{1,64}$/;

/**
 * Loads named pipelines from a JSON or YAML file (`{pipelines: {<name>: <definition>}}`) and checks each one
 * against the routable models: a mistake stops start-up with the file, pipeline, step and field named, or,
 * when `skipInvalid` is given, leaves that pipeline out and reports it there.
 */
export function loadPipelines(
  path: string,
  kindOf: ModelKindOf,
  skipInvalid?: (message: string) => void,
): Map<string, Pipeline> {
  const raw = readDataFile(path);
  const file = pipelinesFile.safeParse(raw);
  if (!file.success) {
    const issue = file.error.issues[0]!;
    throw new Error(`${path}: field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const pipelines = new Map<string, Pipeline>();
  for (const [name, definition] of Object.entries(file.data.pipelines)) {
    if (!PIPELINE_NAME.test(name)) {
      throw new Error(`${path}: pipeline '${name}': a name is letters, digits, _ . or - (at most 64)`);
    }
    const checked = checkPipeline(definition, kindOf, name);
    if (!checked.ok) {
      const { step, path: field, message } = checked.problem;
      const where = step === undefined ? '' : `, step '${step}'`;
      const problem = `${path}: pipeline '${name}'${where}, field ${field.join('.') || '(the definition)'}: ${message}`;
      if (!skipInvalid) throw new Error(problem);
      skipInvalid(problem);
      continue;
    }
    pipelines.set(name, checked.pipeline);
  }
  return pipelines;
}
