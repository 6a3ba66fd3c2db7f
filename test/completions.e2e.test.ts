import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

describe('legacy text completions through the gateway, with the official OpenAI client', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('answers a prompt as text', async () => {
    const { data, response } = await stack.client.completions
      .create({ model: 'sn18/cortex-chat', prompt: 'Once upon a time', max_tokens: 16 })
      .withResponse();
    expect(data.object).toBe('text_completion');
    expect(data.model).toBe('sn18/cortex-chat');
    expect(data.choices[0]?.text).toMatch(/^sn18 miner \d heard: Once upon a time$/);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-taogate-miner')).toMatch(/^sn18\/uid\d$/);
  });

  it('streams text chunks, with usage when asked', async () => {
    const stream = await stack.client.completions.create({
      model: 'sn1/apex-chat',
      prompt: ['a single prompt in a list'],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      usage ??= chunk.usage;
    }
    expect(text).toMatch(/^sn1 miner \d heard: a single prompt in a list$/);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it.each([
    [{ prompt: ['one', 'two'] }, 'prompt'],
    [{ prompt: 'x', echo: true }, 'echo'],
    [{ prompt: 'x', best_of: 3 }, 'best_of'],
    [{}, 'prompt'],
  ])('refuses what subnets cannot honour (%j) with a 400 naming %s', async (fields, param) => {
    const error = await stack.client.completions
      .create({ model: 'sn1/apex-chat', ...fields } as OpenAI.CompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(param);
  });
});
