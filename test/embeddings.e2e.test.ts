import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textEmbedding } from '../localnet/embedding-vectors.ts';
import { type Stack, startStack } from './harness.ts';

const MODEL = 'sn5/kaito-embed';

describe('embeddings through the gateway, with the official OpenAI client', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  const post = (body: unknown) =>
    fetch(`${stack.baseURL}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('embeds each input with the profile’s dimensions, in order, as the miner computed them', async () => {
    // The SDK asks for base64 and decodes it: this checks the float32 encoding too.
    const { data, response } = await stack.client.embeddings
      .create({ model: MODEL, input: ['first text', 'second, with ünïcödé'] })
      .withResponse();
    expect(data.object).toBe('list');
    expect(data.model).toBe(MODEL);
    expect(data.data.map((item) => item.index)).toEqual([0, 1]);
    for (const [i, text] of ['first text', 'second, with ünïcödé'].entries()) {
      const embedding = data.data[i]!.embedding;
      expect(embedding).toHaveLength(512);
      const expected = textEmbedding(text, 512);
      const worst = Math.max(...embedding.map((value, d) => Math.abs(value - expected[d]!)));
      expect(worst).toBeLessThan(1e-6); // float32 on the wire
    }
    expect(data.usage.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage.total_tokens).toBe(data.usage.prompt_tokens);
    expect(response.headers.get('x-taogate-miner')).toMatch(/^sn5\/uid\d$/);
  });

  it('returns floats when asked, and shorter vectors where the subnet honours `dimensions`', async () => {
    const data = await stack.client.embeddings.create({
      model: MODEL,
      input: 'one string',
      dimensions: 64,
      encoding_format: 'float',
    });
    expect(data.data).toHaveLength(1);
    expect(data.data[0]!.embedding).toEqual(textEmbedding('one string', 64));
  });

  it('splits inputs over the batch size into several upstream calls, keeping the order', async () => {
    const input = Array.from({ length: 40 }, (_, i) => `text number ${i}`);
    const received = () => [1, 2, 3, 4].reduce((sum, uid) => sum + stack.localnet.miner(5, uid).received, 0);
    const before = received();
    const response = await post({ model: MODEL, input, encoding_format: 'float' });
    expect(response.status).toBe(200);
    expect(received() - before).toBe(3); // 16 + 16 + 8: the profile's maxBatchInputs
    const body = (await response.json()) as { data: { index: number; embedding: number[] }[] };
    expect(body.data.map((item) => item.index)).toEqual(input.map((_, i) => i));
    expect(body.data[39]!.embedding).toEqual(textEmbedding('text number 39', 512));
  });

  it('refuses what the subnet cannot do with a 400 naming the parameter', async () => {
    const cases: [unknown, string, string][] = [
      [{ model: MODEL, input: 'x', dimensions: 1024 }, 'dimensions', 'at most 512'],
      [{ model: MODEL, input: [[1, 2, 3]] }, 'input', 'token arrays'],
      [{ model: MODEL, input: '' }, 'input', 'empty'],
      [{ model: 'sn1/apex-chat', input: 'x' }, 'model', 'serves chat'],
    ];
    for (const [body, param, message] of cases) {
      const response = await post(body);
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { param: string; message: string } };
      expect(error.param).toBe(param);
      expect(error.message).toContain(message);
    }
    expect((await post({ model: 'sn5/nope', input: 'x' })).status).toBe(404);
  });
});
