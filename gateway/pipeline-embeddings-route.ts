import type { Context } from 'hono';
import { startPipeline } from '../router/pipelines/index.ts';
import { base64Vector, type EmbeddingsBody } from './embeddings-schema.ts';
import { invalidRequest } from './errors.ts';
import { pipelineFailed, reportCache, vectorOf } from './pipeline-answer.ts';
import {
  type PipelineModelRouteDeps,
  partialResultsAsked,
  pipelineFor,
  pipelineSignal,
} from './pipeline-model-route.ts';
import { accountSteps, pipelineUsage, type StepSummary } from './pipeline-report.ts';
import { requestCacheChoice, routedStepModels } from './pipeline-step-models.ts';

/**
 * An embeddings request whose model is `pipeline/<name>` (a pipeline whose output step embeds, such as
 * translate-then-embed): the pipeline runs once per input, in parallel, each input its `{{input}}`, and the
 * vectors come back in input order in OpenAI's shape. `taogate.steps` lists every run's steps, each with the
 * index of its input; usage is the sum of them all.
 */
export async function answerEmbeddingsWithPipeline(
  c: Context,
  deps: PipelineModelRouteDeps,
  body: EmbeddingsBody,
): Promise<Response> {
  const found = pipelineFor(deps, body.model, 'embeddings');
  if ('error' in found) return c.json(found.error.body, found.error.status);
  const { pipeline } = found;
  if (body.dimensions !== undefined) {
    const error = invalidRequest('dimensions cannot be set for a pipeline', 'dimensions', 'invalid_value');
    return c.json(error.body, error.status);
  }
  const cache = requestCacheChoice(c, undefined);
  if (!cache.ok) return c.json(cache.error.body, cache.error.status);
  const models = routedStepModels(deps, cache.choice);
  const signal = pipelineSignal(c, deps);
  const runs = body.input.map((input) =>
    startPipeline(
      pipeline,
      { input, sampling: {} },
      { models, signal, deadlineMs: deps.deadlineMs, streamOutput: false },
    ),
  );
  const answers = await Promise.all(runs.map((run) => vectorOf(run, false)));
  const failedAt = answers.findIndex((answer) => !answer.ok);
  if (failedAt >= 0) {
    const answer = answers[failedAt]!;
    const options = {
      partialResults: partialResultsAsked(c, undefined),
      logger: deps.logger,
      model: body.model,
    };
    if (!answer.ok) return pipelineFailed(c, runs[failedAt]!, answer.failure, options);
  }
  const done = answers.flatMap((answer) => (answer.ok ? [answer] : []));
  const steps = accountSteps<StepSummary & { input_index: number }>(
    done.flatMap((answer, index) => answer.steps.map((step) => ({ ...step, input_index: index }))),
  );
  const { total_tokens: tokens, cost_rao } = pipelineUsage(steps);
  reportCache(c, steps);
  return c.json({
    object: 'list',
    data: done.map((answer, index) => ({
      object: 'embedding',
      index,
      embedding: body.encoding_format === 'base64' ? base64Vector(answer.vector) : answer.vector,
    })),
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens, ...(cost_rao !== undefined && { cost_rao }) },
    taogate: { steps },
  });
}
