import type { Context } from 'hono';
import type { z } from 'zod';
import { type HttpError, invalidRequest } from './errors.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: HttpError };

/** Reads and validates a JSON body; any fault is a 400 naming the offending parameter. */
export async function parseJsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<Parsed<z.infer<T>>> {
  return parseJsonText(await bodyTextOf(c), schema);
}

/**
 * The body as text. One that could not be read (the client went away mid-body, say) is judged as an empty
 * one: not JSON.
 */
export async function bodyTextOf(c: Context): Promise<string> {
  try {
    return await c.req.text();
  } catch {
    return '';
  }
}

/** Validates a body already read, as parseJsonBody does. */
export function parseJsonText<T extends z.ZodType>(text: string, schema: T): Parsed<z.infer<T>> {
  // Like OpenAI, judge the body, not its content-type: `curl -d` sends form-urlencoded by default.
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: invalidRequest('We could not parse the JSON body of your request.', null, 'invalid_json'),
    };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0]!;
  const param = issue.path.join('.') || null;
  const message = param ? `Invalid value for '${param}': ${issue.message}` : issue.message;
  return {
    ok: false,
    error: invalidRequest(message, param, missing(issue) ? 'missing_required_parameter' : 'invalid_value'),
  };
}

function missing(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && issue.message.includes('undefined');
}
