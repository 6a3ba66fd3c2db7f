import type { Dispatcher } from 'undici';
import { readCappedText } from './body.ts';
import { toUpstreamError, UpstreamError } from './errors.ts';
import type { CallOptions, MinerTarget } from './types.ts';

/** One HTTP request, already built and signed by a wire protocol. */
export interface UpstreamRequest {
  /** `http://host:port` */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** What a wire protocol makes of the upstream's answer. */
export interface AnswerReading {
  /** Who answers, as error messages name it: "axon answered 401". */
  peer: string;
  /** The text of an accepted (200) answer, as it arrives. */
  text(response: Dispatcher.ResponseData): AsyncIterable<string>;
  /** A short explanation from a rejected answer's body and headers, if it gives one. */
  rejection(response: Dispatcher.ResponseData, body: string): string | undefined;
}

/**
 * What every wire protocol shares: POST within the attempt's deadline (or until the caller goes away),
 * non-200 → `upstream_rejected`, failures mid-stream → typed errors, an empty answer → `upstream_invalid`.
 * Resolves once the upstream accepted the request; the text then streams.
 */
export async function exchangeWithUpstream(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  call: CallOptions,
  reading: AnswerReading,
): Promise<AsyncIterable<string>> {
  const deadline = AbortSignal.timeout(Math.max(1, Math.ceil(call.timeoutMs)));
  const signal = AbortSignal.any([call.signal, deadline]);
  let response: Dispatcher.ResponseData;
  try {
    response = await dispatcher.request({ ...request, method: 'POST', signal });
  } catch (error) {
    throw toUpstreamError(error, deadline);
  }
  if (response.statusCode !== 200) {
    const body = await readCappedText(response.body).catch(() => '');
    const detail = reading.rejection(response, body)?.slice(0, 300);
    throw new UpstreamError(
      'upstream_rejected',
      `${reading.peer} answered ${response.statusCode}${detail ? `: ${detail}` : ''}`,
      response.statusCode,
    );
  }
  return guardStream(reading.text(response), deadline, reading.peer);
}

/** A miner's axon address as an origin; IPv6 in brackets. */
export function minerOrigin(target: MinerTarget): string {
  return `http://${target.ip.includes(':') ? `[${target.ip}]` : target.ip}:${target.port}`;
}

/** Maps mid-stream failures to UpstreamError and treats an empty answer as invalid. */
async function* guardStream(
  text: AsyncIterable<string>,
  deadline: AbortSignal,
  peer: string,
): AsyncGenerator<string> {
  let produced = false;
  try {
    for await (const chunk of text) {
      produced = true;
      yield chunk;
    }
  } catch (error) {
    throw toUpstreamError(error, deadline);
  }
  if (!produced) throw new UpstreamError('upstream_invalid', `the ${peer} sent an empty answer`);
}
