// A Server-Sent Events decoder (WHATWG HTML "Interpreting an event stream"), reduced to what chat streams
// use: the `data` of each event. Lines end in CRLF, LF or CR; `:` lines are comments; a blank line ends an
// event; other fields (`event`, `id`, `retry`) are ignored; an event cut off by the end of the stream is
// discarded, as the spec says.

/** The data payload of each event in a decoded text stream. */
export async function* sseData(text: AsyncIterable<string>): AsyncGenerator<string> {
  let buffer = '';
  let data: string[] = [];
  // Per stream: a shared global regex would carry its lastIndex from one stream into another across yields.
  const lineEnd = /\r\n|\r|\n/g;
  for await (const chunk of text) {
    buffer += chunk;
    let start = 0;
    lineEnd.lastIndex = 0;
    for (let end = lineEnd.exec(buffer); end; end = lineEnd.exec(buffer)) {
      // A CR at the end of what arrived may be the first half of a CRLF.
      if (end[0] === '\r' && end.index === buffer.length - 1) break;
      const line = buffer.slice(start, end.index);
      start = end.index + end[0].length;
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (fieldName(line) === 'data') {
        data.push(fieldValue(line));
      }
    }
    buffer = buffer.slice(start);
  }
}

function fieldName(line: string): string {
  const colon = line.indexOf(':');
  return colon < 0 ? line : line.slice(0, colon);
}

function fieldValue(line: string): string {
  const colon = line.indexOf(':');
  if (colon < 0) return '';
  return line.startsWith(' ', colon + 1) ? line.slice(colon + 2) : line.slice(colon + 1);
}
