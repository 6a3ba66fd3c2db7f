/** Fields whose values are secrets whatever they hold: the hotkey's secret, passwords, tokens, API keys. */
const SECRET_FIELD = /secret|password|passwd|token|api_?keys?|credential/i;

export const REDACTED = '[redacted]';

/**
 * A copy of a settings object fit to print: secret fields replaced, and passwords (or secret query
 * parameters) cut out of URLs, so a database or Redis URL still shows its host and database.
 */
export function redactSecrets(value: unknown, field = ''): unknown {
  if (value === undefined || value === null) return value;
  if (SECRET_FIELD.test(field)) return REDACTED;
  if (typeof value === 'string') return redactUrl(value);
  if (value instanceof Map) return redactSecrets(Object.fromEntries(value), field);
  if (value instanceof Set || Array.isArray(value))
    return [...value].map((item) => redactSecrets(item, field));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactSecrets(item, key)]));
  }
  return value;
}

function redactUrl(text: string): string {
  if (!/^[a-z][\w+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  let changed = false;
  if (url.password) {
    // Brackets would be percent-encoded in a URL's userinfo.
    url.password = '***';
    changed = true;
  }
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_FIELD.test(key)) {
      url.searchParams.set(key, REDACTED);
      changed = true;
    }
  }
  return changed ? url.toString() : text;
}
