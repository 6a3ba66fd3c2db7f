import type { IncomingHttpHeaders } from 'node:http';
import {
  type Attributes,
  type Context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { RequestTelemetry } from './request-context.ts';
import * as attr from './span-attributes.ts';
import { gatewayTracer } from './tracing.ts';

/**
 * The server span of one API request, child of the client's W3C `traceparent` when it sent one; the
 * returned context (the span and the client's baggage) is the parent of the upstream calls made while
 * serving it.
 */
export function startRequestSpan(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  requestId: string,
): { span: Span; context: Context } {
  // node:http's own header record, read with the API's default getter: no web Headers built for it.
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  // At the start, what the HTTP and GenAI conventions list for sampling decisions; the rest is set on the
  // started span, which costs the SDK a third as much (it validates and copies start attributes twice more).
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_URL_PATH]: path,
  };
  const operation = attr.OPERATION_BY_ROUTE[path];
  if (operation) {
    attributes[attr.GEN_AI_OPERATION_NAME] = operation;
    attributes[attr.GEN_AI_PROVIDER_NAME] = attr.BITTENSOR;
  }
  const span = gatewayTracer().startSpan(`${method} ${path}`, { kind: SpanKind.SERVER, attributes }, parent);
  span.setAttribute(attr.TAOGATE_REQUEST_ID, requestId);
  return { span, context: trace.setSpan(parent, span) };
}

export interface RequestEnd {
  method: string;
  route: string;
  status: number;
  /** The model that answered when another stood in (fallback). */
  servedBy: string | undefined;
  /** `sn1/uid3` */
  miner: string | undefined;
}

/** Ends the request's span with what is known once the response is sent: route, status, models, tokens. */
export function endRequestSpan(request: RequestTelemetry, end: RequestEnd): void {
  const span = request.span;
  if (!span) return;
  // HTTP semantic conventions name a server span by its route template, known only once routed.
  span.updateName(`${end.method} ${end.route}`);
  span.setAttribute(ATTR_HTTP_ROUTE, end.route);
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, end.status);
  if (request.model) {
    span.setAttribute(attr.GEN_AI_REQUEST_MODEL, request.model);
    span.setAttribute(attr.GEN_AI_RESPONSE_MODEL, end.servedBy ?? request.model);
  }
  if (request.netuid !== undefined) span.setAttribute(attr.TAOGATE_NETUID, request.netuid);
  if (end.miner) span.setAttribute(attr.TAOGATE_MINER, end.miner);
  if (request.inputTokens !== undefined)
    span.setAttribute(attr.GEN_AI_USAGE_INPUT_TOKENS, request.inputTokens);
  if (request.outputTokens !== undefined)
    span.setAttribute(attr.GEN_AI_USAGE_OUTPUT_TOKENS, request.outputTokens);
  if (request.firstChunkMs !== undefined)
    span.setAttribute(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, request.firstChunkMs / 1000);
  span.setAttribute(attr.TAOGATE_ATTEMPT, request.attempts);
  if (end.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
