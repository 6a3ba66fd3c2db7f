/** Where a step that starts on partial input cuts the answer it reads into pieces. */
export const SPLITS = ['sentence', 'line', 'paragraph'] as const;
export type SegmentSplit = (typeof SPLITS)[number];

/** A piece of a streamed answer: its text, and the whitespace that followed it (kept between outputs). */
export interface Segment {
  text: string;
  separator: string;
}

// Sentence ends are punctuation (and closing quotes or brackets) before whitespace, or a line break;
// requiring the whitespace keeps "3.14" and "e.g.," whole as long as a chunk does not end inside them.
const BOUNDARIES: Record<SegmentSplit, RegExp> = {
  sentence: /[.!?…]["')\]]*\s+|\n\s*/,
  line: /\n/,
  paragraph: /\n[ \t]*\n\s*/,
};

/**
 * Cuts streamed text into pieces as soon as each piece is complete, so its consumer can start on it while
 * the rest is still being written. After `maxSegments - 1` cuts the remainder is one last piece, which
 * bounds the calls one step may make. Text that is only whitespace is passed on as a separator.
 */
export async function* segmentsOf(
  chunks: AsyncIterable<string>,
  split: SegmentSplit,
  maxSegments: number,
): AsyncGenerator<Segment> {
  const boundary = BOUNDARIES[split];
  let buffer = '';
  let cuts = 0;
  for await (const chunk of chunks) {
    buffer += chunk;
    for (let match = boundary.exec(buffer); match && cuts < maxSegments - 1; match = boundary.exec(buffer)) {
      const end = match.index + match[0].length;
      const text = buffer.slice(0, match.index + match[0].trimEnd().length);
      buffer = buffer.slice(end);
      // A lone separator (blank lines, leading spaces) is not worth a call.
      if (text.trim() === '') {
        yield { text: '', separator: text + match[0].slice(match[0].trimEnd().length) };
        continue;
      }
      cuts++;
      yield { text: text.trimStart(), separator: match[0].slice(match[0].trimEnd().length) };
    }
  }
  if (buffer.trim() !== '') yield { text: buffer.trim(), separator: '' };
}
