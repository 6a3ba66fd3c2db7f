import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import {
  describePrice,
  type Ledger,
  type ModelPrice,
  type Quote,
  quoteRequest,
  type ReserveOutcome,
  type Settlement,
  UsageMeter,
  withUsageMeter,
} from '../billing/index.ts';
import { peekBody } from './auth-body.ts';
import { httpError, ledgerUnavailable } from './errors.ts';

export interface UsageMeteringDeps {
  ledger: Ledger;
  /** This replica: its lease keeps its reservations alive. */
  instanceId: string;
  priceOf(model: string): (ModelPrice & { fallback: readonly string[] }) | undefined;
  /** Every catalogue model a request body may call (its `model`, or a pipeline's steps). */
  modelsOf(body: Record<string, unknown>): string[];
  /** Output tokens assumed for the reservation of a request that sets no `max_tokens`. */
  defaultMaxOutputTokens: number;
  depositAddress: string | undefined;
  /** Answers up to this size are kept for Idempotency-Key retries. */
  maxStoredResponseBytes: number;
  /** The metrics hook for rao charged per subnet. */
  spent?: (netuid: number, rao: bigint) => void;
  logger: Logger;
}

const COST_HEADER = 'x-taogate-cost-rao';
/** How long a client-aborted stream waits for its handler to report what was produced. */
const ABORT_REPORT_WAIT_MS = 2000;
const encoder = new TextEncoder();

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
      body,
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
    headers.delete('content-length');
    c.res = new Response(answer.body, { status: res.status, headers });
  };
}

interface RequestFacts {
  body: Record<string, unknown>;
  bodyChars: number;
  path: string;
  /** Keep the answer for Idempotency-Key retries. */
  keep: boolean;
}

/** Commits or releases one reservation, exactly once, from whichever way the response ends. */
function settler(
  deps: UsageMeteringDeps,
  chargeId: string,
  meter: UsageMeter,
  quote: Quote,
  facts: RequestFacts,
) {
  // The first way the response ends settles it; a later one (a cancel racing a stream's own end) waits for
  // that settlement rather than returning early, so a drain that awaits it knows the ledger is written.
  let settling: Promise<void> | undefined;
  const releaseOnce = async () => {
    await deps.ledger.release(chargeId).catch((error: unknown) => {
      // Left pending, the reservation is released when this instance restarts or its lease lapses.
      deps.logger.error({ err: error, chargeId }, 'releasing a reservation failed');
    });
  };
  const commitOnce = async (response?: Settlement['response']) => {
    const reading = meter.read();
    const netuids = new Set(reading.answers.map((a) => a.netuid));
    const first = reading.answers[0];
    const settlement: Settlement = {
      costRao: reading.costRao,
      netuid: netuids.size === 1 ? (first?.netuid ?? null) : null,
      model: netuids.size === 1 && first ? first.model : quote.primary.model,
      inputTokens: sum(reading.answers, (a) => a.inputTokens),
      outputTokens: sum(reading.answers, (a) => a.outputTokens),
      images: sum(reading.answers, (a) => a.images),
      nowMs: Date.now(),
      response,
    };
    let committed = false;
    for (let attempt = 0; attempt < 3 && !committed; attempt++) {
      try {
        committed = await deps.ledger.commit(chargeId, settlement);
        if (!committed) break;
      } catch (error) {
        deps.logger.warn({ err: error, chargeId, attempt }, 'committing a charge failed');
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
    if (!committed) {
      deps.logger.error(
        { chargeId, costRao: String(settlement.costRao) },
        'a served answer could not be charged',
      );
      return;
    }
    // Per subnet, as each answer was priced (a pipeline's steps are on several subnets).
    for (const answer of reading.answers) deps.spent?.(answer.netuid, answer.costRao);
  };
  const release = () => (settling ??= releaseOnce());
  const commit = (response?: Settlement['response']) => (settling ??= commitOnce(response));
  /** An answer the handler did not report (a route outside the meter contract): priced from what is known. */
  const recordFallback = (answer?: Record<string, unknown>) => {
    if (meter.read().answers.length > 0) return;
    const usage = isObject(answer?.usage) ? answer.usage : undefined;
    const model = typeof answer?.model === 'string' ? answer.model : quote.primary.model;
    meter.record({
      model,
      inputTokens: numberField(usage, 'prompt_tokens') ?? Math.ceil(facts.bodyChars / 4),
      outputTokens: numberField(usage, 'completion_tokens') ?? 0,
      images:
        facts.path.endsWith('/images/generations') && Array.isArray(answer?.data) ? answer.data.length : 0,
    });
  };

  return {
    release,
    /** A whole (JSON) answer: charged before it is sent, with `usage.cost_rao` added when it has a usage. */
    async complete(bytes: Uint8Array, status: number, contentType: string) {
      let body: Uint8Array = bytes;
      if (meter.read().answers.length === 0) {
        const answer = contentType.includes('json')
          ? parseObject(new TextDecoder().decode(bytes))
          : undefined;
        recordFallback(answer);
        if (answer && isObject(answer.usage)) {
          answer.usage.cost_rao = Number(meter.read().costRao);
          body = encoder.encode(JSON.stringify(answer));
        }
      }
      const keep = facts.keep && body.byteLength <= deps.maxStoredResponseBytes;
      await commit(keep ? { status, contentType, body } : undefined);
      return { body, costRao: meter.read().costRao };
    },
    /** Passes the stream through and settles once it ends, fails, or the client goes away. */
    whenStreamEnds(stream: ReadableStream<Uint8Array>, contentType: string): ReadableStream<Uint8Array> {
      const reader = stream.getReader();
      const kept: Uint8Array[] = [];
      let keptBytes = 0;
      const finish = async () => {
        const reading = meter.read();
        if (reading.failed) return release();
        recordFallback();
        const keep = facts.keep && keptBytes <= deps.maxStoredResponseBytes;
        await commit(keep ? { status: 200, contentType, body: concat(kept, keptBytes) } : undefined);
      };
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            await release();
            controller.error(error);
            return;
          }
          if (chunk.done) {
            await finish();
            controller.close();
            return;
          }
          if (facts.keep && keptBytes <= deps.maxStoredResponseBytes) kept.push(chunk.value);
          keptBytes += chunk.value.byteLength;
          controller.enqueue(chunk.value);
        },
        async cancel(reason) {
          await reader.cancel(reason).catch(() => undefined);
          // The handler reports what it produced once its upstream call stops; charge that (decided: the
          // miners did the work up to the abort), or the request's known part if it never reports.
          await Promise.race([
            meter.reported,
            new Promise((resolve) => setTimeout(resolve, ABORT_REPORT_WAIT_MS)),
          ]);
          const reading = meter.read();
          if (reading.failed) return release();
          recordFallback();
          await commit();
        },
      });
    },
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

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberField(object: Record<string, unknown> | undefined, name: string): number | undefined {
  const value = object?.[name];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function sum<T>(items: readonly T[], of: (item: T) => number | undefined): number {
  return items.reduce((total, item) => total + (of(item) ?? 0), 0);
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}
