import { describe, expect, it } from 'vitest';
import { sseData } from './sse-data.ts';

async function dataOf(...chunks: string[]): Promise<string[]> {
  async function* arriving() {
    yield* chunks;
  }
  const events: string[] = [];
  for await (const data of sseData(arriving())) events.push(data);
  return events;
}

describe('the SSE decoder', () => {
  it('yields the data of each event, however the bytes were split', async () => {
    expect(await dataOf('data: one\n\nda', 'ta: two\n', '\n')).toEqual(['one', 'two']);
  });

  it('understands CRLF and CR line ends, even a CRLF split across chunks', async () => {
    expect(await dataOf('data: one\r', '\n\r\ndata: two\r\rdata: three\r\n\r\n')).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('joins multi-line data, and takes only one space after the colon', async () => {
    expect(await dataOf('data:a\ndata:  b\n\n')).toEqual(['a\n b']);
  });

  it('skips comments, other fields and empty events', async () => {
    expect(await dataOf(': keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata: x\n\n\n\n')).toEqual(['x']);
  });

  it('discards an event the stream cut off before its blank line', async () => {
    expect(await dataOf('data: whole\n\ndata: cut')).toEqual(['whole']);
  });

  it('keeps streams read side by side apart', async () => {
    async function* arriving(...chunks: string[]) {
      yield* chunks;
    }
    const first = sseData(arriving('data: a1\n\ndata: a2\n\n'));
    const second = sseData(arriving(`data: ${'b'.repeat(40)}\n\ndata: b2\n\n`));
    const order = [first, second, first, second];
    const seen = [];
    for (const stream of order) seen.push((await stream.next()).value);
    expect(seen).toEqual(['a1', 'b'.repeat(40), 'a2', 'b2']);
  });
});
