import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

describe('chat completions through the gateway, with the official OpenAI client', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('lists one model per routable subnet model', async () => {
    const ids = [];
    for await (const model of stack.client.models.list()) ids.push(model.id);
    expect(ids.filter((id) => id.startsWith('sn'))).toEqual([
      'sn1/apex-chat',
      'sn18/cortex-chat',
      'sn4/targon-chat',
      'sn61/apex-openai',
      'sn5/kaito-embed',
      'sn23/niche-image',
    ]);
  });

  it('answers a non-streaming request with a miner of the subnet', async () => {
    const { data, response } = await stack.client.chat.completions
      .create({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: "it's a test" }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toMatch(/^sn1 miner \d heard: it's a test$/);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-taogate-miner')).toMatch(/^sn1\/uid\d$/);
  });

  it('streams OpenAI chunks from a streaming synapse, ending with usage when asked', async () => {
    const stream = await stack.client.chat.completions.create({
      model: 'sn18/cortex-chat',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'stream me, ünïcödé ✓' }] },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      usage ??= chunk.usage;
    }
    expect(text).toMatch(/^sn18 miner \d heard: stream me, ünïcödé ✓$/);
    expect(chunks).toBeGreaterThan(4);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('serves subnets whose synapse does not stream, as a stream too', async () => {
    const stream = await stack.client.chat.completions.create({
      model: 'sn4/targon-chat',
      messages: [{ role: 'user', content: 'whole' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/^sn4 miner \d heard: whole$/);
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const error = await stack.client.chat.completions
      .create({ model: 'sn99/nothing', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('rejects invalid parameters with 400 naming the parameter', async () => {
    const error = await stack.client.chat.completions
      .create({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: 'x' }], temperature: 7 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
  });

  it.each([
    ['malformed JSON', '{"model": "sn1/apex-chat", "messages": [', 400, 'invalid_json', null],
    ['a JSON array', '[1, 2]', 400, 'invalid_value', null],
    ['no messages', '{"model": "sn1/apex-chat"}', 400, 'missing_required_parameter', 'messages'],
    ['an empty conversation', '{"model": "sn1/apex-chat", "messages": []}', 400, 'invalid_value', 'messages'],
    [
      'a bad role',
      '{"model": "sn1/apex-chat", "messages": [{"role": "robot", "content": "x"}]}',
      400,
      'invalid_value',
      'messages.0.role',
    ],
    [
      'a body over the limit',
      JSON.stringify({ model: 'sn1/apex-chat', messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }),
      413,
      'request_too_large',
      null,
    ],
  ])('answers %s with an OpenAI-style %i', async (_, body, status, code, param) => {
    const response = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(status);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ type: 'invalid_request_error', code, param });
    expect(error.message).toEqual(expect.any(String));
  });

  it('answers unknown routes with a 404 in the same shape', async () => {
    const response = await fetch(`${stack.baseURL}/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'unknown_url' } });
  });
});
