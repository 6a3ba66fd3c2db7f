import { describe, expect, it } from 'vitest';
import { type Segment, segmentsOf } from './segments.ts';

async function cut(chunks: string[], split: 'sentence' | 'line' | 'paragraph', max = 16): Promise<Segment[]> {
  async function* stream() {
    yield* chunks;
  }
  const segments: Segment[] = [];
  for await (const segment of segmentsOf(stream(), split, max)) segments.push(segment);
  return segments;
}

describe('cutting a stream into pieces', () => {
  it('ends a sentence at punctuation followed by whitespace, across chunk boundaries', async () => {
    expect(await cut(['Pi is 3', '.14. Is it', '? Yes!', ' Done'], 'sentence')).toEqual([
      { text: 'Pi is 3.14.', separator: ' ' },
      { text: 'Is it?', separator: ' ' },
      { text: 'Yes!', separator: ' ' },
      { text: 'Done', separator: '' },
    ]);
  });

  it('keeps line and paragraph breaks as separators, passing blank lines on', async () => {
    expect(await cut(['a\n\nb\n', 'c'], 'line')).toEqual([
      { text: 'a', separator: '\n' },
      { text: '', separator: '\n' },
      { text: 'b', separator: '\n' },
      { text: 'c', separator: '' },
    ]);
    expect(await cut(['one\ntwo\n\nthree'], 'paragraph')).toEqual([
      { text: 'one\ntwo', separator: '\n\n' },
      { text: 'three', separator: '' },
    ]);
  });

  it('puts everything past the piece limit into one last piece', async () => {
    expect(await cut(['A. B. C. D.'], 'sentence', 2)).toEqual([
      { text: 'A.', separator: ' ' },
      { text: 'B. C. D.', separator: '' },
    ]);
  });
});
