import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  DeadlineExceeded,
  MinersAtCapacity,
  ModelNotFound,
  NoHealthyMiner,
  UpstreamExhausted,
} from '../router/index.ts';

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface HttpError {
  status: ContentfulStatusCode;
  body: OpenAIErrorBody;
  /** Response headers the status calls for, such as `retry-after` on 429 and 503. */
  headers?: Record<string, string>;
}

export function httpError(
  status: ContentfulStatusCode,
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): HttpError {
  return { status, body: { error: { message, type, param, code } } };
}

export function invalidRequest(
  message: string,
  param: string | null = null,
  code: string | null = null,
): HttpError {
  return httpError(400, message, 'invalid_request_error', code, param);
}

/** The one place internal errors become HTTP statuses; anything unknown is a 500 without internals. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof ModelNotFound) {
    return httpError(404, error.message, 'invalid_request_error', 'model_not_found', 'model');
  }
  if (error instanceof MinersAtCapacity) {
    // OpenAI's SDKs honour retry-after on 429, so well-behaved clients back off by themselves.
    return withRetryAfter(
      httpError(429, error.message, 'rate_limit_error', error.code),
      error.retryAfterSeconds,
    );
  }
  if (error instanceof NoHealthyMiner) {
    return withRetryAfter(httpError(503, error.message, 'server_error', error.code), error.retryAfterSeconds);
  }
  if (error instanceof UpstreamExhausted) return httpError(502, error.message, 'upstream_error', error.code);
  if (error instanceof DeadlineExceeded) return httpError(504, error.message, 'timeout_error', error.code);
  if (isStoreUnreachable(error)) {
    const message = 'A store the gateway depends on is unreachable; retry shortly';
    return withRetryAfter(httpError(503, message, 'server_error', 'store_unavailable'), 1);
  }
  return httpError(500, 'The gateway failed to handle the request', 'server_error', 'internal_error');
}

/** Errors of a connection that failed (system codes), and PostgreSQL's connection and shutdown states. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // SQLSTATE class 08 (connection exception) and 57P01-03 (shutdown, crash shutdown, cannot connect now).
  '08000',
  '08001',
  '08003',
  '08006',
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * A ledger, Redis or other store that cannot be reached: the request may well succeed in a moment, so it
 * is a 503 with Retry-After (load balancers and SDKs retry those), not a 500 that says the gateway is broken.
 */
function isStoreUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  // pg's lost connections carry no code; Node's connect errors to a dual-stack host arrive aggregated.
  if (/^Connection terminated/.test(error.message)) return true;
  return error instanceof AggregateError && error.errors.some(isStoreUnreachable);
}

/** The ledger's store did not answer: nothing can be charged, so nothing paid for is served; retry shortly. */
export function ledgerUnavailable(): HttpError {
  return withRetryAfter(
    httpError(503, 'The payment ledger is unavailable; retry shortly.', 'server_error', 'ledger_unavailable'),
    1,
  );
}

function withRetryAfter(error: HttpError, seconds: number | undefined): HttpError {
  return seconds === undefined ? error : { ...error, headers: { 'retry-after': String(seconds) } };
}
