import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textEmbedding } from '../localnet/embedding-vectors.ts';
import { type Stack, startStack } from './harness.ts';

function expectSameVector(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  for (const [index, value] of expected.entries()) expect(actual[index]).toBeCloseTo(value, 5);
}

// localnet miners answer "sn{netuid} miner {uid} heard: {last user message}", so a composed output shows
// which subnet answered which step, in which order, with what input.
const PIPELINES = {
  pipelines: {
    'three-subnets': {
      description: 'sn1, then sn18 on its answer, then sn4 on both',
      steps: [
        { id: 'first', model: 'sn1/apex-chat', input: 'A({{input}})' },
        { id: 'second', model: 'sn18/cortex-chat', input: 'B({{ steps.first.output }})' },
        { id: 'third', model: 'sn4/targon-chat', input: 'C({{steps.second.output}} | {{input}})' },
      ],
    },
    'with-fallback': {
      steps: [
        { id: 'first', model: 'sn1/apex-chat', input: 'A({{input}})' },
        {
          id: 'middle',
          model: 'sn18/cortex-chat',
          input: 'B({{steps.first.output}})',
          fallback: 'sn4/targon-chat',
        },
        { id: 'last', model: 'sn1/apex-chat', input: 'C({{steps.middle.output}})' },
      ],
    },
    'translate-then-embed': {
      steps: [
        { id: 'translate', model: 'sn1/apex-chat', input: 'T({{input}})' },
        { id: 'embed', model: 'sn5/kaito-embed', input: '{{steps.translate.output}}' },
      ],
    },
    'no-fallback': {
      steps: [
        { id: 'first', model: 'sn1/apex-chat', input: 'A({{input}})' },
        { id: 'middle', model: 'sn18/cortex-chat', input: 'B({{steps.first.output}})' },
        { id: 'last', model: 'sn4/targon-chat', input: 'C({{steps.middle.output}})' },
      ],
    },
  },
};

interface StepSummary {
  id: string;
  model: string;
  miner: string | null;
  start_ms: number;
  ms: number;
  cached: boolean;
  status: string;
  fallback: boolean;
  output?: string;
}

describe('pipelines', () => {
  let stack: Stack;
  let dir: string;

  const run = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.baseURL}/pipelines/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taogate-pipelines-'));
    const file = join(dir, 'pipelines.json');
    writeFileSync(file, JSON.stringify(PIPELINES));
    stack = await startStack({
      env: { TAOGATE_PIPELINES: file, TAOGATE_HEDGE: 'off', TAOGATE_MAX_OUTPUT_TOKENS: '4096' },
      localnet: { minersPerSubnet: 2 },
    });
  });
  afterAll(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs three steps over three subnets and composes their answers', async () => {
    const response = await run({ pipeline: 'three-subnets', input: 'hello' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { output: string; taogate: { steps: StepSummary[] } };
    expect(body.output).toMatch(
      /^sn4 miner \d heard: C\(sn18 miner \d heard: B\(sn1 miner \d heard: A\(hello\)\) \| hello\)$/,
    );
    expect(body.taogate.steps.map((step) => [step.id, step.model, step.status])).toEqual([
      ['first', 'sn1/apex-chat', 'done'],
      ['second', 'sn18/cortex-chat', 'done'],
      ['third', 'sn4/targon-chat', 'done'],
    ]);
    for (const step of body.taogate.steps) {
      expect(step.miner).toMatch(/^sn\d+\/uid\d$/);
      expect(step.ms).toBeGreaterThan(0);
      expect(step.cached).toBe(false);
    }
    expect(body.taogate.steps[1]!.output).toMatch(
      /^sn18 miner \d heard: B\(sn1 miner \d heard: A\(hello\)\)$/,
    );
    const timing = response.headers.get('server-timing') ?? '';
    expect(timing).toMatch(/step\.first;desc="sn1\/apex-chat sn1\/uid\d";dur=[\d.]+/);
    expect(timing).toMatch(/step\.third;[^,]*, pipeline;dur=[\d.]+/);
  });

  it('is a model to the OpenAI SDK: listed, answered and streamed', async () => {
    const ids: string[] = [];
    for await (const model of stack.client.models.list()) ids.push(model.id);
    expect(ids).toContain('pipeline/three-subnets');
    expect(await stack.client.models.retrieve('pipeline/three-subnets')).toMatchObject({
      id: 'pipeline/three-subnets',
      task: 'chat',
      steps: [{ id: 'first', model: 'sn1/apex-chat' }, { id: 'second' }, { id: 'third' }],
    });

    const completion = await stack.client.chat.completions.create({
      model: 'pipeline/three-subnets',
      messages: [
        { role: 'system', content: 'ignored by the steps' },
        { role: 'user', content: 'via sdk' },
      ],
    });
    expect(completion.model).toBe('pipeline/three-subnets');
    expect(completion.choices[0]?.message.content).toMatch(
      /^sn4 miner \d heard: C\(sn18 miner \d heard: B\(sn1 miner \d heard: A\(via sdk\)\) \| via sdk\)$/,
    );
    const steps = (completion as unknown as { taogate: { steps: StepSummary[] } }).taogate.steps;
    expect(steps.map((step) => step.model)).toEqual(['sn1/apex-chat', 'sn18/cortex-chat', 'sn4/targon-chat']);
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);

    const stream = await stack.client.chat.completions.create({
      model: 'pipeline/three-subnets',
      messages: [{ role: 'user', content: 'streamed' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let reported: StepSummary[] | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      reported ??= (chunk as unknown as { taogate?: { steps: StepSummary[] } }).taogate?.steps;
      usage ??= chunk.usage;
    }
    expect(text).toMatch(
      /^sn4 miner \d heard: C\(sn18 miner \d heard: B\(sn1 miner \d heard: A\(streamed\)\)/,
    );
    expect(reported?.map((step) => step.status)).toEqual(['done', 'done', 'done']);
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('runs independent steps at the same time', async () => {
    const slow = { latencyMs: 250, jitterMs: 0 };
    for (const netuid of [1, 18])
      for (const uid of [1, 2]) Object.assign(stack.localnet.miner(netuid, uid).behaviour, slow);
    try {
      const started = performance.now();
      const response = await run({
        pipeline: {
          steps: [
            { id: 'left', model: 'sn1/apex-chat' },
            { id: 'right', model: 'sn18/cortex-chat' },
            { id: 'join', model: 'sn4/targon-chat', input: '{{steps.left.output}} + {{steps.right.output}}' },
          ],
        },
        input: 'both',
      });
      const elapsed = performance.now() - started;
      const body = (await response.json()) as { output: string; taogate: { steps: StepSummary[] } };
      expect(body.output).toMatch(
        /^sn4 miner \d heard: sn1 miner \d heard: both \+ sn18 miner \d heard: both$/,
      );
      const [left, right, join] = body.taogate.steps;
      // Both ran within each other's span, and the join started only once both were done.
      expect(Math.max(left!.start_ms, right!.start_ms)).toBeLessThan(
        Math.min(left!.start_ms + left!.ms, right!.start_ms + right!.ms),
      );
      expect(join!.start_ms).toBeGreaterThanOrEqual(
        Math.max(left!.start_ms + left!.ms, right!.start_ms + right!.ms) - 1,
      );
      expect(elapsed).toBeLessThan(left!.ms + right!.ms);
    } finally {
      for (const netuid of [1, 18]) {
        for (const uid of [1, 2])
          Object.assign(stack.localnet.miner(netuid, uid).behaviour, { latencyMs: 5, jitterMs: 2 });
      }
    }
  });

  it('starts a step on pieces of its input while that input still streams', async () => {
    for (const uid of [1, 2]) Object.assign(stack.localnet.miner(1, uid).behaviour, { chunkDelayMs: 40 });
    try {
      const response = await run({
        pipeline: {
          steps: [
            { id: 'write', model: 'sn1/apex-chat' },
            {
              id: 'each',
              model: 'sn18/cortex-chat',
              input: 'P({{steps.write.output}})',
              stream_input: 'sentence',
            },
          ],
        },
        input: 'One. Two. Three.',
        stream: true,
      });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const events = (await response.text())
        .split('\n')
        .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
        .map(
          (line) =>
            JSON.parse(line.slice(6)) as {
              object: string;
              delta?: string;
              taogate?: { steps: StepSummary[] };
            },
        );
      const output = events.map((event) => event.delta ?? '').join('');
      expect(output).toMatch(
        /^sn18 miner \d heard: P\(sn1 miner \d heard: One\.\) sn18 miner \d heard: P\(Two\.\) sn18 miner \d heard: P\(Three\.\)$/,
      );
      const [write, each] = events.at(-1)!.taogate!.steps;
      expect(each!.start_ms).toBeLessThan(write!.start_ms + write!.ms);
    } finally {
      for (const uid of [1, 2]) Object.assign(stack.localnet.miner(1, uid).behaviour, { chunkDelayMs: 1 });
    }
  });

  it('serves a step from the cache when its cache mode allows, and says so', async () => {
    const pipeline = {
      steps: [
        { id: 'kept', model: 'sn1/apex-chat', cache: 'on' },
        { id: 'fresh', model: 'sn18/cortex-chat', input: 'B({{steps.kept.output}})', cache: 'off' },
      ],
    };
    const first = (await (await run({ pipeline, input: 'cache me' })).json()) as {
      taogate: { steps: StepSummary[] };
    };
    const second = (await (await run({ pipeline, input: 'cache me' })).json()) as {
      taogate: { steps: StepSummary[] };
    };
    expect(first.taogate.steps.map((step) => step.cached)).toEqual([false, false]);
    expect(second.taogate.steps.map((step) => step.cached)).toEqual([true, false]);
    const allCached = await run({ pipeline: { steps: [pipeline.steps[0]] }, input: 'cache me' });
    expect(allCached.headers.get('x-taogate-cache')).toBe('hit');
    await allCached.arrayBuffer();
    expect(second.taogate.steps[0]).toMatchObject({ miner: null, output: first.taogate.steps[0]!.output });
    expect(second.taogate.steps[1]!.miner).toMatch(/^sn18\/uid\d$/);
  });

  it('embeds what an earlier step answered, on the run endpoint and as an embeddings model', async () => {
    const response = await run({ pipeline: 'translate-then-embed', input: 'hola' });
    const body = (await response.json()) as { output: number[]; taogate: { steps: StepSummary[] } };
    const translated = body.taogate.steps[0]!.output!;
    expect(translated).toMatch(/^sn1 miner \d heard: T\(hola\)$/);
    expectSameVector(body.output, textEmbedding(translated, 512));
    expect(body.taogate.steps[1]).toMatchObject({ model: 'sn5/kaito-embed', status: 'done' });

    const embedded = await stack.client.embeddings.create({
      model: 'pipeline/translate-then-embed',
      input: ['uno', 'dos'],
    });
    expect(embedded.model).toBe('pipeline/translate-then-embed');
    const steps = (embedded as unknown as { taogate: { steps: (StepSummary & { input_index: number })[] } })
      .taogate.steps;
    for (const [index, word] of ['uno', 'dos'].entries()) {
      const uid = steps
        .find((step) => step.input_index === index && step.id === 'translate')!
        .miner!.slice(-1);
      expectSameVector(
        embedded.data[index]!.embedding,
        textEmbedding(`sn1 miner ${uid} heard: T(${word})`, 512),
      );
    }
    expect(embedded.usage.total_tokens).toBeGreaterThan(0);

    const mismatch = await stack.client.chat.completions
      .create({ model: 'pipeline/translate-then-embed', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((mismatch as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
  });

  it('refuses an invalid pipeline with a 400 naming the step', async () => {
    const cases: [unknown, RegExp][] = [
      [
        {
          steps: [
            { id: 'a', model: 'sn1/apex-chat', input: '{{steps.b.output}}' },
            { id: 'b', model: 'sn18/cortex-chat', input: '{{steps.a.output}}' },
          ],
        },
        /step 'a'.*cycle: a → b → a/,
      ],
      [{ steps: [{ id: 'lost', model: 'sn99/nothing' }] }, /step 'lost'.*unknown model 'sn99\/nothing'/],
      [
        {
          steps: [
            { id: 'a', model: 'sn1/apex-chat' },
            { id: 'reader', model: 'sn1/apex-chat', input: '{{steps.ghost.output}}' },
          ],
        },
        /step 'reader'.*unknown step 'ghost'/,
      ],
      [
        { steps: [{ id: 'odd', model: 'sn1/apex-chat', input: 'x {{ process.env }}' }] },
        /step 'odd'.*not a reference/,
      ],
      [
        { steps: [{ id: 'slow', model: 'sn1/apex-chat', fallback: 'sn1/none' }] },
        /step 'slow'.*unknown model 'sn1\/none'/,
      ],
      [
        { steps: [{ id: 'long', model: 'sn1/apex-chat', max_tokens: 5000 }] },
        /step 'long'.*max_tokens is 5000/,
      ],
      [
        {
          steps: [
            { id: 'vector', model: 'sn5/kaito-embed' },
            { id: 'reads', model: 'sn1/apex-chat', input: '{{steps.vector.output}}' },
          ],
        },
        /step 'reads'.*embeddings output is not text/,
      ],
    ];
    for (const [pipeline, message] of cases) {
      const response = await run({ pipeline, input: 'x' });
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { message: string; code: string } };
      expect(error.message).toMatch(message);
    }
  });

  it('gives a step that overruns its timeout to its fallback, or fails it naming the timeout', async () => {
    for (const uid of [1, 2])
      Object.assign(stack.localnet.miner(4, uid).behaviour, { latencyMs: 2000, jitterMs: 0 });
    try {
      // The fallback gets a timeout of its own: long enough for a loaded machine, far below the slow miners.
      const step = { id: 'slow', model: 'sn4/targon-chat', timeout_ms: 600 };
      const rescued = await run({
        pipeline: { steps: [{ ...step, fallback: 'sn18/cortex-chat' }] },
        input: 'late',
      });
      const body = (await rescued.json()) as { output: string; taogate: { steps: StepSummary[] } };
      expect(body.output).toMatch(/^sn18 miner \d heard: late$/);
      expect(body.taogate.steps[0]).toMatchObject({ model: 'sn18/cortex-chat', fallback: true });

      const failed = await run({ pipeline: { steps: [step] }, input: 'late' });
      expect(failed.status).toBe(504);
      const { error } = (await failed.json()) as { error: { message: string; code: string } };
      expect(error.message).toMatch(/^Pipeline step 'slow' \(sn4\/targon-chat\) failed: .*timeout of 600 ms/);
      expect(error.code).toBe('step_timeout');
    } finally {
      for (const uid of [1, 2])
        Object.assign(stack.localnet.miner(4, uid).behaviour, { latencyMs: 5, jitterMs: 2 });
    }
  });

  describe('when a middle step’s subnet fails', () => {
    beforeAll(() => {
      for (const uid of [1, 2]) Object.assign(stack.localnet.miner(18, uid).behaviour, { errorRate: 1 });
    });

    it('falls back to the step’s fallback model', async () => {
      const response = await run({ pipeline: 'with-fallback', input: 'fall' });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { output: string; taogate: { steps: StepSummary[] } };
      expect(body.output).toMatch(
        /^sn1 miner \d heard: C\(sn4 miner \d heard: B\(sn1 miner \d heard: A\(fall\)\)\)$/,
      );
      expect(body.taogate.steps[1]).toMatchObject({ id: 'middle', model: 'sn4/targon-chat', fallback: true });
    });

    it('names the failed step and, when asked, returns what completed', async () => {
      const response = await run({ pipeline: 'no-fallback', input: 'x', partial_results: true });
      expect(response.status).toBe(502);
      const { error } = (await response.json()) as {
        error: { message: string; taogate: { failed_step: string; steps: StepSummary[] } };
      };
      expect(error.message).toMatch(/^Pipeline step 'middle' \(sn18\/cortex-chat\) failed: /);
      expect(error.taogate.failed_step).toBe('middle');
      expect(error.taogate.steps.map((step) => step.status)).toEqual(['done', 'failed', 'skipped']);
      expect(error.taogate.steps[0]!.output).toMatch(/^sn1 miner \d heard: A\(x\)$/);

      const failOver = (partial_results: boolean) =>
        stack.client.chat.completions
          .create({
            model: 'pipeline/no-fallback',
            messages: [{ role: 'user', content: 'x' }],
            // @ts-expect-error taogate's own options travel beside OpenAI's
            taogate: { partial_results },
          })
          .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
      const plain = (await failOver(false)) as InstanceType<typeof OpenAI.APIError>;
      expect(plain.status).toBe(502);
      expect(plain.message).toMatch(/step 'middle'/);
      const stepsOf = (error: InstanceType<typeof OpenAI.APIError>) =>
        (error.error as { taogate: { steps: StepSummary[] } }).taogate.steps;
      expect(stepsOf(plain)[0]!.output).toBeUndefined();
      // Streamed, a failure before the output step's first chunk is still an HTTP error naming the step.
      const streamed = (await stack.client.chat.completions
        .create({ model: 'pipeline/no-fallback', messages: [{ role: 'user', content: 'x' }], stream: true })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      // By now sn18's breakers may be open: 503 (cooling down) rather than 502 (every miner failed).
      expect([502, 503]).toContain(streamed.status);
      expect(streamed.message).toMatch(/step 'middle'/);
      const partial = (await failOver(true)) as InstanceType<typeof OpenAI.APIError>;
      expect(stepsOf(partial)[0]!.output).toMatch(/^sn1 miner \d heard: A\(x\)$/);
    });
  });
});
