import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promptImage } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';
import { decodePng } from './png-check.ts';

const MODEL = 'sn23/niche-image';

describe('image generations through the gateway, with the official OpenAI client', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { TAOGATE_PUBLIC_URL: 'http://gateway.invalid' } });
  });
  afterAll(() => stack.close());

  it('answers b64_json with the PNG the miner drew for this prompt, at the profile’s default size', async () => {
    const { data, response } = await stack.client.images
      .generate({ model: MODEL, prompt: 'a red fox in snow', response_format: 'b64_json' })
      .withResponse();
    expect(data.data).toHaveLength(1);
    const png = Buffer.from(data.data![0]!.b64_json!, 'base64');
    expect(decodePng(png)).toEqual({ width: 256, height: 256 });
    expect(png.equals(promptImage('a red fox in snow', 256, 256))).toBe(true);
    expect(response.headers.get('x-taogate-miner')).toMatch(/^sn23\/uid\d$/);
  });

  it('answers url with an address the gateway serves the image at, under its public URL', async () => {
    const data = await stack.client.images.generate({
      model: MODEL,
      prompt: 'a lighthouse',
      size: '512x512',
      n: 2,
    });
    expect(data.data).toHaveLength(2);
    for (const { url } of data.data!) {
      expect(url).toMatch(/^http:\/\/gateway\.invalid\/v1\/images\/files\/img-[0-9a-f]{32}\.png$/);
      const response = await fetch(url!.replace('http://gateway.invalid', stack.gateway.url));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      expect(decodePng(Buffer.from(await response.arrayBuffer()))).toEqual({ width: 512, height: 512 });
    }
  });

  it('lists every routable model with its subnet, task, protocol and price, and each one by id', async () => {
    const listed = new Map<string, Record<string, unknown>>();
    for await (const model of stack.client.models.list()) listed.set(model.id, model as never);
    expect(listed.get('sn5/kaito-embed')).toMatchObject({
      object: 'model',
      owned_by: 'bittensor-sn5',
      netuid: 5,
      task: 'embeddings',
      protocol: 'synapse',
      embeddings: { dimensions: 512, variableDimensions: true },
      price: { unit: 'rao', perRequest: 10000 },
    });
    expect(listed.get('sn1/apex-chat')).toMatchObject({ task: 'chat', fallback: ['sn61/apex-openai'] });
    const one = await stack.client.models.retrieve(MODEL);
    expect(one).toMatchObject({
      id: MODEL,
      object: 'model',
      created: 0,
      netuid: 23,
      subnet: 'nicheimage',
      task: 'images',
      images: { sizes: ['256x256', '512x512', '1024x1024'] },
      price: { perImage: 2000000 },
    });
  });

  it('refuses a size the subnet does not draw, and a model of another task', async () => {
    const post = (body: unknown) =>
      fetch(`${stack.baseURL}/images/generations`, { method: 'POST', body: JSON.stringify(body) });
    const badSize = await post({ model: MODEL, prompt: 'x', size: '640x480' });
    expect(badSize.status).toBe(400);
    expect(((await badSize.json()) as { error: { param: string } }).error.param).toBe('size');
    const wrongTask = await post({ model: 'sn5/kaito-embed', prompt: 'x' });
    expect(wrongTask.status).toBe(400);
    const unknown = await fetch(`${stack.baseURL}/images/files/img-${'0'.repeat(32)}.png`);
    expect(unknown.status).toBe(404);
  });
});
