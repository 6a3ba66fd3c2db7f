import { describe, expect, it } from 'vitest';
import { sseDataDecoder } from './sse-data.ts';

/** The data of every event in text arriving in these pieces, one list per piece. */
function dataOf(...pieces: string[]): string[][] {
  const decoder = sseDataDecoder();
  return pieces.map((piece) => decoder.push(piece));
}

describe('the SSE decoder', () => {
  it('gives the data of each event once its blank line arrives, however the text was split', () => {
    expect(dataOf('data: one\n\nda', 'ta: two\n', '\n')).toEqual([['one'], [], ['two']]);
  });

  it('understands CRLF and CR line ends, even a CRLF split across pieces', () => {
    expect(dataOf('data: one\r', '\n\r\ndata: two\r\rdata: three\r\n\r\n').flat()).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('joins multi-line data, and takes only one space after the colon', () => {
    expect(dataOf('data:a\ndata:  b\ndata\n\n').flat()).toEqual(['a\n b\n']);
  });

  it('skips comments, other fields and empty events', () => {
    expect(
      dataOf(': keep-alive\n\nevent: message\nid: 7\nretry: 10\ndatum: no\ndata: x\n\n\n\n').flat(),
    ).toEqual(['x']);
  });

  it('keeps an event the text has not finished for the next piece', () => {
    expect(dataOf('data: whole\n\ndata: cut')).toEqual([['whole']]);
  });

  it('keeps decoders apart', () => {
    const first = sseDataDecoder();
    const second = sseDataDecoder();
    expect([first.push('data: a'), second.push(`data: ${'b'.repeat(40)}\n`), first.push('1\n\n')]).toEqual([
      [],
      [],
      ['a1'],
    ]);
    expect(second.push('\n')).toEqual(['b'.repeat(40)]);
  });
});
