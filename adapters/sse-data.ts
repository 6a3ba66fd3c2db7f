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
  // Per decoder: a shared global regex would carry its lastIndex from one stream into another.
  const lineEnd = /\r\n|\r|\n/g;
  return {
    push(text) {
      buffer += text;
      const events: string[] = [];
      let start = 0;
      lineEnd.lastIndex = 0;
      for (let end = lineEnd.exec(buffer); end; end = lineEnd.exec(buffer)) {
        // A CR at the end of what arrived may be the first half of a CRLF.
        if (end[0] === '\r' && end.index === buffer.length - 1) break;
        const lineStart = start;
        start = end.index + end[0].length;
        if (end.index === lineStart) {
          if (data !== undefined) events.push(moreData ? [data, ...moreData].join('\n') : data);
          data = undefined;
          moreData = undefined;
          continue;
        }
        const value = dataValue(buffer, lineStart, end.index);
        if (value === undefined) continue;
        if (data === undefined) data = value;
        else (moreData ??= []).push(value);
      }
      buffer = start === buffer.length ? '' : buffer.slice(start);
      return events;
    },
  };
}

/** The value of a `data` line within `text[start, end)`; undefined for any other line. */
function dataValue(text: string, start: number, end: number): string | undefined {
  if (!text.startsWith('data', start)) return undefined;
  const after = start + 4;
  if (after === end) return '';
  if (text[after] !== ':') return undefined;
  return text.slice(text[after + 1] === ' ' ? after + 2 : after + 1, end);
}
