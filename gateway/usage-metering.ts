import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import {
  describePrice,
  type ModelPrice,
  type Quote,
  quoteRequest,
  type ReserveOutcome,
  UsageMeter,
  withUsageMeter,
} from '../billing/index.ts';
import { peekBody } from './auth-body.ts';
import { httpError, ledgerUnavailable } from './errors.ts';
import { parseObject, type SettlementDeps, settler } from './usage-settlement.ts';

export interface UsageMeteringDeps extends SettlementDeps {
  /** This replica: its lease keeps its reservations alive. */
  instanceId: string;
  priceOf(model: string): (ModelPrice & { fallback: readonly string[] }) | undefined;
  /** Every catalogue model a request body may call (its `model`, or a pipeline's steps). */
  modelsOf(body: Record<string, unknown>): string[];
  /** Output tokens assumed for the reservation of a request that sets no `max_tokens`. */
  defaultMaxOutputTokens: number;
  depositAddress: string | undefined;
}

const COST_HEADER = 'x-taogate-cost-rao';

/**
 * Charges each billed request: reserves its worst-case price before the handler runs (402 when the balance
 * cannot pay), then commits what the answer actually used once the response body has been sent in full,
 * and releases the reservation when the request fails. Streams are charged when they end; a stream the
 * client abandons is charged for what was produced up to then. Idempotency-Key retries get the first
 * answer again, charged once.
 */
export function meterUsage(deps: UsageMeteringDeps): MiddlewareHandler {
  return async (c, next) => {
    const payer = c.get('payer');
    if (c.req.method !== 'POST' || !payer) return next();
    const text = await peekBody(c);
    const body = parseObject(text);
    const quote = body ? quoteOf(deps, c, body, text) : undefined;
    // Nothing to price (not JSON, no known model): the route answers it with a 4xx of its own.
    if (!body || !quote) {
      await next();
      if (c.res.ok) deps.logger.warn({ path: c.req.path }, 'served a request the ledger could not price');
      return;
    }

    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
      return errorResponse(c, 400, 'Idempotency-Key must be 1 to 255 characters', 'invalid_idempotency_key');
    }
    let reserved: ReserveOutcome;
    try {
      reserved = await deps.ledger.reserve({
        accountId: payer.accountId,
        keyId: payer.keyId,
        amountRao: quote.maxRao,
        owner: deps.instanceId,
        nowMs: Date.now(),
        idempotency: idempotencyKey
          ? { key: idempotencyKey, requestHash: requestHash(c.req.path, text) }
          : undefined,
      });
    } catch (error) {
      deps.logger.warn({ err: error }, 'the ledger could not reserve for a request');
      const unavailable = ledgerUnavailable();
      return c.json(unavailable.body, unavailable.status, unavailable.headers);
    }
    switch (reserved.kind) {
      case 'insufficient-balance':
        return insufficientBalance(c, deps, quote, reserved.availableRao, payer.coldkey);
      case 'spend-cap-reached':
        return errorResponse(
          c,
          402,
          `This API key has reached its spend cap of ${reserved.capRao} rao (${reserved.spentRao} rao spent).`,
          'spend_cap_reached',
        );
      case 'key-revoked':
        return errorResponse(
          c,
          401,
          'This API key has been revoked.',
          'revoked_api_key',
          'invalid_request_error',
        );
      case 'idempotent-in-progress':
        return errorResponse(
          c,
          409,
          'A request with this Idempotency-Key is still being served; retry once it has finished.',
          'idempotency_key_in_use',
        );
      case 'idempotent-mismatch':
        return errorResponse(
          c,
          422,
          'This Idempotency-Key was used for a different request.',
          'idempotency_key_reused',
        );
      case 'idempotent-replay': {
        if (!reserved.response) {
          return errorResponse(
            c,
            409,
            'The request with this Idempotency-Key was served and charged; its answer was too large to keep.',
            'idempotent_response_unavailable',
          );
        }
        const { status, contentType, body: stored } = reserved.response;
        return new Response(stored, {
          status,
          headers: { 'content-type': contentType, [COST_HEADER]: '0', 'idempotent-replayed': 'true' },
        });
      }
    }

    const meter = new UsageMeter(deps.priceOf, quote.primary);
    const settle = settler(deps, reserved.chargeId, meter, quote, {
      bodyChars: text.length,
      path: c.req.path,
      keep: idempotencyKey !== undefined,
    });
    try {
      await withUsageMeter(meter, next);
    } catch (error) {
      await settle.release();
      throw error;
    }
    const res = c.res;
    if (res.status < 200 || res.status >= 300 || !res.body) {
      await settle.release();
      c.res = withHeader(res, COST_HEADER, '0');
      return;
    }
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
      c.res = withHeader(
        new Response(settle.whenStreamEnds(res.body, res.headers.get('content-type')!), res),
        'x-taogate-max-cost-rao',
        String(quote.maxRao),
      );
      return;
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const answer = await settle.complete(
      bytes,
      res.status,
      res.headers.get('content-type') ?? 'application/json',
    );
    const headers = new Headers(res.headers);
    headers.set(COST_HEADER, String(answer.costRao));
    c.res = new Response(answer.body, { status: res.status, headers });
    // hono copies the replaced response's headers over, a length for the body before `cost_rao` among them.
    c.res.headers.delete('content-length');
  };
}

function quoteOf(deps: UsageMeteringDeps, c: Context, body: Record<string, unknown>, text: string) {
  const maxTokens = body.max_tokens ?? body.max_completion_tokens;
  const images = c.req.path.endsWith('/images/generations');
  return quoteRequest(
    {
      models: deps.modelsOf(body),
      bodyChars: text.length,
      maxOutputTokens: images
        ? 0
        : typeof maxTokens === 'number' && maxTokens > 0
          ? maxTokens
          : deps.defaultMaxOutputTokens,
      images: images ? (typeof body.n === 'number' && body.n > 0 ? body.n : 1) : 0,
    },
    deps.priceOf,
  );
}

function insufficientBalance(
  c: Context,
  deps: UsageMeteringDeps,
  quote: Quote,
  availableRao: bigint,
  coldkey: string,
): Response {
  const topUp = deps.depositAddress
    ? `Deposit TAO to ${deps.depositAddress} from your coldkey ${coldkey}; it is credited once confirmed.`
    : 'Ask the gateway operator to credit your account.';
  const error = httpError(
    402,
    `Insufficient balance: ${availableRao} rao available, and this request may cost up to ${quote.maxRao} rao ` +
      `(${quote.primary.model}: ${describePrice(quote.primary.price)}). ${topUp}`,
    'insufficient_balance',
    'insufficient_balance',
  );
  return c.json(
    {
      error: {
        ...error.body.error,
        balance_rao: Number(availableRao),
        price_rao: Number(quote.maxRao),
        deposit_address: deps.depositAddress ?? null,
      },
    },
    402,
    { [COST_HEADER]: '0' },
  );
}

function errorResponse(
  c: Context,
  status: 400 | 401 | 402 | 409 | 422,
  message: string,
  code: string,
  type = status === 402 ? 'insufficient_balance' : 'invalid_request_error',
): Response {
  const error = httpError(status, message, type, code);
  return c.json(error.body, error.status, { [COST_HEADER]: '0' });
}

function requestHash(path: string, body: string): string {
  return createHash('sha256').update(path).update('\n').update(body).digest('hex');
}

function withHeader(res: Response, name: string, value: string): Response {
  // Responses built by hono may have immutable headers; a copy can always be changed.
  const copy = new Response(res.body, res);
  copy.headers.set(name, value);
  return copy;
}
