import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { chatCompletionRequest, toChatRequest } from './chat-schema.ts';
import { generationRequestReader } from './generation-request.ts';

/** What reading one body gave: the request itself (to compare identities) or the error's body. */
async function readAll(bodies: string[]) {
  const reader = generationRequestReader(chatCompletionRequest, toChatRequest);
  const app = new Hono();
  const seen: unknown[] = [];
  app.post('/', async (c) => {
    const read = await reader.read(c);
    if (!read.ok) seen.push(read.error.body);
    else {
      seen.push(read.value);
      reader.remember(read.value);
    }
    return c.body(null, 204);
  });
  for (const body of bodies) await app.request('/', { method: 'POST', body });
  return seen;
}

const chat = JSON.stringify({ model: 'sn1/x', messages: [{ role: 'user', content: 'hi' }], temperature: 0 });

describe('generation requests', () => {
  it('answers a remembered body with the request it validated before, frozen', async () => {
    const [first, second] = (await readAll([chat, chat])) as { request: { messages: unknown[] } }[];
    expect(second).toBe(first);
    expect(first!.request).toEqual({ messages: [{ role: 'user', content: 'hi' }], temperature: 0 });
    expect(Object.isFrozen(first!.request.messages[0])).toBe(true);
  });

  it('validates every body that differs by a byte, and never remembers an invalid one', async () => {
    const invalid = JSON.stringify({ model: 'sn1/x', messages: [] });
    const [valid, spaced, error, again] = await readAll([chat, `${chat} `, invalid, invalid]);
    expect(spaced).not.toBe(valid);
    expect(spaced).toMatchObject({ request: (valid as { request: unknown }).request });
    expect(error).toMatchObject({ error: { param: 'messages', code: 'invalid_value' } });
    expect(again).toEqual(error);
  });
});
