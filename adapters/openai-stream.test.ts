import { describe, expect, it } from 'vitest';
import { UpstreamError } from './errors.ts';
import { openAiStreamText } from './openai-stream.ts';

const chunk = (content: string | null, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra })}\n\n`;

async function textOf(...events: string[]): Promise<string[]> {
  async function* arriving() {
    yield* events;
  }
  const deltas: string[] = [];
  for await (const delta of openAiStreamText(arriving())) deltas.push(delta);
  return deltas;
}

async function failureOf(...events: string[]): Promise<UpstreamError> {
  const error = await textOf(...events).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('the OpenAI stream reader', () => {
  it('yields the content deltas of the first choice up to [DONE]', async () => {
    const role = 'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n';
    const other = 'data: {"choices":[{"index":1,"delta":{"content":"not me"}}]}\n\n';
    const finish = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n';
    const usage = 'data: {"choices":[],"usage":{"total_tokens":3}}\n\n';
    expect(
      await textOf(role, chunk('Hel'), other, chunk(null), chunk('lo ✓'), finish, usage, 'data: [DONE]\n\n'),
    ).toEqual(['Hel', 'lo ✓']);
  });

  it('stops reading at [DONE]', async () => {
    expect(await textOf(chunk('a'), 'data: [DONE]\n\n', 'data: not even json\n\n')).toEqual(['a']);
  });

  it('calls a stream that ends without [DONE] truncated', async () => {
    expect((await failureOf(chunk('a'))).message).toMatch(/ended before \[DONE\]/);
  });

  it.each([
    ['a chunk that is not JSON', 'data: {"choices": [\n\n', /not JSON/],
    ['a chunk of the wrong shape', 'data: {"choices": "text"}\n\n', /wrong shape/],
    ['an error event', 'data: {"error": {"message": "model overloaded"}}\n\n', /model overloaded/],
  ])('rejects %s as upstream_invalid', async (_, event, message) => {
    const error = await failureOf(chunk('a'), event, 'data: [DONE]\n\n');
    expect(error.code).toBe('upstream_invalid');
    expect(error.message).toMatch(message);
  });
});
