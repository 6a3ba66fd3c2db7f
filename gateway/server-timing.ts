import type { RequestTelemetry } from '../telemetry/index.ts';

/**
 * The `Server-Timing` header of a response (W3C Server Timing): `queue` (arrival to the first upstream
 * call, or the time a gateway queue reported), one `attempt-N` per upstream call (to its first chunk, or to
 * its failure, described by miner and outcome), `upstream` (first call to headers), `cache` when a cache was
 * consulted, and `gateway` (arrival to headers). Durations in ms, as browsers' dev tools show them. Built
 * as one string, once per response.
 */
export function serverTimingOf(request: RequestTelemetry, headersMs: number): string {
  let header = request.cache ? `cache;desc="${request.cache}", ` : '';
  header += `queue;dur=${ms(request.queueMs ?? request.firstDispatchMs ?? 0)}`;
  for (const step of request.steps) {
    header += `, ${step.name};dur=${ms(step.durMs ?? headersMs - step.startMs)};desc="${step.desc}"`;
  }
  if (request.firstDispatchMs !== undefined)
    header += `, upstream;dur=${ms(headersMs - request.firstDispatchMs)}`;
  return `${header}, gateway;dur=${ms(headersMs)}`;
}

/** To 0.1 ms; whole numbers without their `.0`. */
function ms(value: number): number {
  return value > 0 ? Math.round(value * 10) / 10 : 0;
}
