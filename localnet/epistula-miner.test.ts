import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hotkey, hotkeyFromSecret, signEpistula } from '../bittensor/index.ts';
import { startEpistulaMiner } from './epistula-miner.ts';
import type { Miner } from './miner-server.ts';

describe('a localnet Epistula miner', () => {
  let validator: Hotkey;
  let minerKey: Hotkey;
  let miner: Miner;

  beforeAll(async () => {
    validator = await hotkeyFromSecret('//taogate');
    minerKey = await hotkeyFromSecret('//miner');
    miner = await startEpistulaMiner({
      netuid: 61,
      uid: 1,
      hotkey: minerKey,
      rogueHotkey: await hotkeyFromSecret('//rogue'),
      model: 'apex',
      isAllowedCaller: (hotkey) => hotkey === validator.ss58,
      behaviour: { latencyMs: 0, jitterMs: 0, chunkDelayMs: 0 },
    });
  });
  afterAll(() => miner.close());

  const chatBody = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ model: 'apex', messages: [{ role: 'user', content: 'hi ✓' }], ...extra });

  async function send(body: string, headers: Record<string, string>) {
    const response = await request(`http://127.0.0.1:${miner.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  }

  it('streams OpenAI chunks ending in [DONE] to an allowed caller that signed for it', async () => {
    const body = chatBody({ stream: true });
    const answer = await send(body, signEpistula(body, validator, minerKey.ss58));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/event-stream');
    const events = answer.text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice('data: '.length)));
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', model: 'apex' });
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    const text = chunks.map((chunk) => chunk.choices[0].delta.content ?? '').join('');
    expect(text).toBe('sn61 miner 1 heard: hi ✓');
  });

  it('answers a whole chat.completion when not asked to stream', async () => {
    const body = chatBody();
    const answer = await send(body, signEpistula(body, validator, minerKey.ss58));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({
      object: 'chat.completion',
      choices: [
        { message: { role: 'assistant', content: 'sn61 miner 1 heard: hi ✓' }, finish_reason: 'stop' },
      ],
    });
  });

  it('answers 401 to a signature by another key than the Signed-By it claims', async () => {
    const body = chatBody();
    const headers = signEpistula(body, await hotkeyFromSecret('//mallory'), minerKey.ss58);
    headers['Epistula-Signed-By'] = validator.ss58;
    const answer = await send(body, headers);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toEqual({ detail: 'Signature Mismatch' });
  });

  it('answers 401 to a body other than the one signed', async () => {
    const headers = signEpistula(chatBody(), validator, minerKey.ss58);
    expect((await send(chatBody({ temperature: 0 }), headers)).status).toBe(401);
  });

  it('answers 401 to a request signed for another hotkey', async () => {
    const body = chatBody();
    const answer = await send(body, signEpistula(body, validator, validator.ss58));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text).detail).toMatch(/not intended for self/);
  });

  it('answers 401 to a request signed more than 8 s ago', async () => {
    const body = chatBody();
    const answer = await send(body, signEpistula(body, validator, minerKey.ss58, Date.now() - 9000));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toEqual({ detail: 'Request is too stale' });
  });

  it('answers 403 to a correctly signed request from a caller it does not allow', async () => {
    const body = chatBody();
    const answer = await send(body, signEpistula(body, await hotkeyFromSecret('//stranger'), minerKey.ss58));
    expect(answer.status).toBe(403);
  });

  it('answers 404 model_not_found to a model it does not serve', async () => {
    const body = chatBody({ model: 'gpt-4o' });
    const answer = await send(body, signEpistula(body, validator, minerKey.ss58));
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.text).error.code).toBe('model_not_found');
  });
});
