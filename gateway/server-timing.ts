import type { RequestTelemetry } from '../telemetry/index.ts';

/**
 * The `Server-Timing` header of a response (W3C Server Timing): `queue` (arrival to the first upstream
 * call, or the time a gateway queue reported), one `attempt-N` per upstream call (to its first chunk, or to
 * its failure, described by miner and outcome), `upstream` (first call to headers), `cache` when a cache was
 * consulted, and `gateway` (arrival to headers). Durations in ms, as browsers' dev tools show them.
 */
export function serverTimingOf(request: RequestTelemetry, headersMs: number): string {
  const parts: string[] = [];
  if (request.cache) parts.push(`cache;desc="${request.cache}"`);
  parts.push(`queue;dur=${ms(request.queueMs ?? request.firstDispatchMs ?? 0)}`);
  for (const step of request.steps) {
    parts.push(`${step.name};dur=${ms(step.durMs ?? headersMs - step.startMs)};desc="${step.desc}"`);
  }
  if (request.firstDispatchMs !== undefined)
    parts.push(`upstream;dur=${ms(headersMs - request.firstDispatchMs)}`);
  parts.push(`gateway;dur=${ms(headersMs)}`);
  return parts.join(', ');
}

function ms(value: number): string {
  return Math.max(0, value).toFixed(1);
}
