import { describe, expect, it } from 'vitest';
import { UpstreamError } from './errors.ts';
import { openAiStreamText } from './openai-stream.ts';

const chunk = (content: string | null, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra })}\n\n`;

/** What the reader yields for a body that arrives in these pieces. */
async function textOf(...reads: (string | Uint8Array)[]): Promise<string[]> {
  async function* arriving() {
    for (const read of reads) yield typeof read === 'string' ? new TextEncoder().encode(read) : read;
  }
  const deltas: string[] = [];
  for await (const delta of openAiStreamText(arriving(), 4096)) deltas.push(delta);
  return deltas;
}

async function failureOf(...reads: (string | Uint8Array)[]): Promise<UpstreamError> {
  const error = await textOf(...reads).catch((e: unknown) => e);
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

  it('yields the deltas of events that arrive in one read as one chunk', async () => {
    expect(await textOf(chunk('Hel') + chunk('lo') + chunk(null), `${chunk(' ✓')}data: [DONE]\n\n`)).toEqual([
      'Hello',
      ' ✓',
    ]);
  });

  it('decodes characters split across reads', async () => {
    const bytes = new TextEncoder().encode(`${chunk('✓')}data: [DONE]\n\n`);
    const split = bytes.indexOf(0xe2) + 1;
    expect(await textOf(bytes.subarray(0, split), bytes.subarray(split))).toEqual(['✓']);
  });

  it('gives the text read before a bad event, then fails', async () => {
    const deltas: string[] = [];
    async function* arriving() {
      yield new TextEncoder().encode(`${chunk('a')}data: {"choices": "text"}\n\n`);
    }
    const failure = await (async () => {
      for await (const delta of openAiStreamText(arriving())) deltas.push(delta);
    })().catch((error: unknown) => error);
    expect(deltas).toEqual(['a']);
    expect(failure).toMatchObject({
      code: 'upstream_invalid',
      message: expect.stringMatching(/wrong shape/),
    });
  });

  it.each([
    ['invalid UTF-8', new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a]), /invalid UTF-8/],
    ['a body past the cap', 'x'.repeat(5000), /oversized/],
  ])('rejects %s as upstream_invalid', async (_, body, message) => {
    const error = await failureOf(body);
    expect(error.code).toBe('upstream_invalid');
    expect(error.message).toMatch(message);
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
