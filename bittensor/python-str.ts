/**
 * Python's `str()` of a JSON-decoded value, as CPython prints it.
 *
 * Bittensor hashes `str(value)` of each required hash field (bittensor/core/synapse.py `body_hash`, and the
 * axon re-hashes `str()` of `json.loads(body)` fields in `verify_body_integrity`), so a dendrite written in
 * another language must reproduce CPython's repr rules byte for byte or every real axon answers 500.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export function pythonStr(value: JsonValue): string {
  if (typeof value === 'string') return pythonStringRepr(value);
  if (typeof value === 'number') return pythonNumberRepr(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null) return 'None';
  if (Array.isArray(value)) return `[${value.map(pythonStr).join(', ')}]`;
  const entries = Object.entries(value).map(([key, item]) => `${pythonStringRepr(key)}: ${pythonStr(item)}`);
  return `{${entries.join(', ')}}`;
}

// CPython unicode_repr (Objects/unicodeobject.c): single quotes unless the text has a single quote and
// no double quote; escapes \\, the chosen quote, \t \n \r, other C0/DEL/non-printable code points as
// \xNN, \uNNNN or \UNNNNNNNN; printable non-ASCII stays as is.
function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code < 0x7f || !NON_PRINTABLE.test(char)) out += char;
    else if (code <= 0xff) out += `\\x${hex(code, 2)}`;
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return out + quote;
}

// Python's str.isprintable(): everything but "Other" (Cc, Cf, Cs, Co, Cn) and "Separator" (Zl, Zp, Zs)
// categories, with the ASCII space as the one printable separator.
const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}

// json.loads gives an int for "1" and a float for "1.5"; JSON.stringify never writes "1.0", so an integral
// JS number round-trips as a Python int. Floats use repr's shortest round-trip digits, which JS shares,
// but Python switches to exponent form below 1e-4 and from 1e16, and writes the exponent with two digits.
function pythonNumberRepr(value: number): string {
  // String() writes integers below 1e21 in full, with the same digits JSON.stringify sends.
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-4 && magnitude < 1e16) return String(value);
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  const digits = exponent.replace(/^[-+]/, '').padStart(2, '0');
  return `${mantissa}e${sign}${digits}`;
}
