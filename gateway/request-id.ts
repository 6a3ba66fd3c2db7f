import { randomUUID } from 'node:crypto';

/** What a client-sent id may look like: short, and nothing a log line or a header could be broken with. */
const ACCEPTABLE_ID = /^[\w.:@/+=-]{1,128}$/;

/** The client's `x-request-id` when it is a sane one, so its logs and ours join up; a fresh UUID otherwise. */
export function requestIdOf(sent: string | undefined): string {
  return sent !== undefined && ACCEPTABLE_ID.test(sent) ? sent : randomUUID();
}
