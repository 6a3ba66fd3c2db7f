import { type Context, propagation } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { discardBody, MAX_UPSTREAM_BYTES, parseJsonOrUndefined, readCappedText } from './body.ts';
import { toUpstreamError, UpstreamError } from './errors.ts';
import type { CallOptions, MinerTarget } from './types.ts';

/** One HTTP request, already built and signed by a wire protocol. */
export interface UpstreamRequest {
  /** `http://host:port` */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The hotkey the answer must come from, where the protocol names who answers (`UpstreamPeer.answeredBy`). */
  hotkey?: string;
}

/** How a wire protocol's upstream explains itself. */
export interface UpstreamPeer {
  /** Who answers, as error messages name it: "axon answered 401". */
  peer: string;
  /** A short explanation from a rejected answer's body and headers, if it gives one. */
  rejection(response: Dispatcher.ResponseData, body: string): string | undefined;
  /** The hotkey an accepted answer says it comes from, where the protocol names one. */
  answeredBy?(response: Dispatcher.ResponseData): string | undefined;
}

/** What a wire protocol makes of the upstream's streamed answer. */
export interface AnswerReading extends UpstreamPeer {
  /** The text of an accepted (200) answer, as it arrives. */
  text(response: Dispatcher.ResponseData): AsyncIterable<string>;
}

/** An upstream's accepted (200) answer, its body still to be read within the attempt's deadline. */
export interface Accepted {
  response: Dispatcher.ResponseData;
  deadline: AbortSignal;
  peer: string;
}

/**
 * What every wire protocol shares: POST within the attempt's deadline (or until the caller goes away),
 * non-200 → `upstream_rejected`. Resolves once the upstream accepted the request.
 */
export async function postToUpstream(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  call: CallOptions,
  upstream: UpstreamPeer,
): Promise<Accepted> {
  const armed = armDeadline(call);
  const deadline = armed.expired;
  const { hotkey, ...http } = request;
  let response: Dispatcher.ResponseData;
  try {
    response = await dispatcher.request({
      ...http,
      headers: withTraceContext(request.headers, call.traceContext),
      method: 'POST',
      signal: armed.signal,
    });
  } catch (error) {
    armed.disarm();
    throw toUpstreamError(error, deadline);
  }
  // The deadline covers reading the body too: it is let go once the body is done with, however that ends.
  response.body.once('close', armed.disarm);
  if (response.statusCode !== 200) {
    const body = await readCappedText(response.body).catch(() => '');
    const detail = upstream.rejection(response, body)?.slice(0, 300);
    throw new UpstreamError(
      'upstream_rejected',
      `${upstream.peer} answered ${response.statusCode}${detail ? `: ${detail}` : ''}`,
      response.statusCode,
    );
  }
  // Another miner's answer at this address (a re-assigned IP, a proxy in front of several) is not this one's.
  const answeredBy = upstream.answeredBy?.(response);
  if (hotkey !== undefined && answeredBy !== undefined && answeredBy !== hotkey) {
    discardBody(response.body);
    const claimed = answeredBy.slice(0, 64);
    throw new UpstreamError(
      'upstream_invalid',
      `the ${upstream.peer} answered as ${claimed}, not as ${hotkey}`,
    );
  }
  return { response, deadline, peer: upstream.peer };
}

/**
 * The attempt's deadline joined with the caller's signal, let go as soon as the exchange is over. Cheaper
 * than AbortSignal.timeout + AbortSignal.any, whose timer and composite signal outlive every call by the
 * whole deadline (30 s by default): tens of thousands alive under load, all work for the garbage collector.
 */
function armDeadline(call: CallOptions) {
  const expired = new AbortController();
  const either = new AbortController();
  const cancel = () => either.abort(call.signal.reason);
  const timer = setTimeout(
    () => {
      expired.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      either.abort(expired.signal.reason);
    },
    Math.max(1, Math.ceil(call.timeoutMs)),
  );
  timer.unref();
  if (call.signal.aborted) cancel();
  else call.signal.addEventListener('abort', cancel, { once: true });
  return {
    signal: either.signal,
    /** Aborted when time ran out, as opposed to the caller going away. */
    expired: expired.signal,
    disarm() {
      clearTimeout(timer);
      call.signal.removeEventListener('abort', cancel);
    },
  };
}

/**
 * A streamed answer: POSTs, then the text as it arrives; failures mid-stream become typed errors and an
 * empty answer is `upstream_invalid`.
 */
export async function exchangeWithUpstream(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  call: CallOptions,
  reading: AnswerReading,
): Promise<AsyncIterable<string>> {
  const accepted = await postToUpstream(dispatcher, request, call, reading);
  return guardStream(reading.text(accepted.response), accepted.deadline, accepted.peer);
}

/** An accepted answer's whole body as JSON, capped; anything that is not JSON is `upstream_invalid`. */
export async function readJsonAnswer(accepted: Accepted, maxBytes = MAX_UPSTREAM_BYTES): Promise<unknown> {
  let text: string;
  try {
    text = await readCappedText(accepted.response.body, maxBytes);
  } catch (error) {
    throw toUpstreamError(error, accepted.deadline);
  }
  return jsonAnswer(text, accepted.peer);
}

/** An answer's text as JSON; anything else is `upstream_invalid`. */
export function jsonAnswer(text: string, peer: string): unknown {
  const parsed = parseJsonOrUndefined(text);
  if (parsed === undefined)
    throw new UpstreamError('upstream_invalid', `the ${peer} sent a body that is not JSON`);
  return parsed;
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

/**
 * The headers plus W3C `traceparent`/`tracestate` of the attempt's span when it is traced, so a miner that
 * traces joins the request's trace; signatures cover bodies, not these headers. The context comes with the
 * call rather than as the active context: running each call in an AsyncLocalStorage frame of its own cost
 * the streamed path more than the span did.
 */
function withTraceContext(
  headers: Record<string, string>,
  traceContext: Context | undefined,
): Record<string, string> {
  if (traceContext === undefined) return headers;
  const carrier: Record<string, string> = {};
  propagation.inject(traceContext, carrier);
  return carrier.traceparent === undefined ? headers : { ...headers, ...carrier };
}
