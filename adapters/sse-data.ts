// A Server-Sent Events decoder (WHATWG HTML "Interpreting an event stream"), reduced to what chat streams
// use: the `data` of each event. Lines end in CRLF, LF or CR; `:` lines are comments; a blank line ends an
// event; other fields (`event`, `id`, `retry`) are ignored; an event cut off by the end of the stream is
// discarded, as the spec says.

export interface SseDataDecoder {
  /** Takes the next piece of decoded text; returns the data of every event it completed, in order. */
  push(text: string): string[];
}

/**
 * An incremental decoder: fed text as it arrives (each read of a body at once, not an async layer per
 * event), it keeps what is left of an unfinished event for the next piece.
 */
export function sseDataDecoder(): SseDataDecoder {
  let buffer = '';
  // The data lines of the event being read: most events have one, kept without an array.
  let data: string | undefined;
  let moreData: string[] | undefined;
  return {
    push(text) {
      buffer += text;
      const events: string[] = [];
      let start = 0;
      // LF-only streams (nearly all) look for a CR once per piece, not once per line.
      let cr = buffer.indexOf('\r');
      for (;;) {
        if (cr >= 0 && cr < start) cr = buffer.indexOf('\r', start);
        const lf = buffer.indexOf('\n', start);
        const end = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
        // No whole line left; a CR at the very end may be the first half of a CRLF.
        if (end < 0 || (buffer.charCodeAt(end) === CR && end === buffer.length - 1)) break;
        const lineStart = start;
        start = end + (buffer.charCodeAt(end) === CR && buffer.charCodeAt(end + 1) === LF ? 2 : 1);
        if (end === lineStart) {
          if (data !== undefined) events.push(moreData ? [data, ...moreData].join('\n') : data);
          data = undefined;
          moreData = undefined;
          continue;
        }
        const value = dataValue(buffer, lineStart, end);
        if (value === undefined) continue;
        if (data === undefined) data = value;
        else if (moreData) moreData.push(value);
        else moreData = [value];
      }
      buffer = start === buffer.length ? '' : buffer.slice(start);
      return events;
    },
  };
}

const CR = 13;
const LF = 10;

/** The value of a `data` line within `text[start, end)`; undefined for any other line. */
function dataValue(text: string, start: number, end: number): string | undefined {
  if (!text.startsWith('data', start)) return undefined;
  const after = start + 4;
  if (after === end) return '';
  if (text[after] !== ':') return undefined;
  return text.slice(text[after + 1] === ' ' ? after + 2 : after + 1, end);
}
