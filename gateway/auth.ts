import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { type Ledger, parseApiKey, secretMatches } from '../billing/index.ts';
import { EPISTULA_ALLOWED_DELTA_MS, verifyEpistula } from '../bittensor/index.ts';
import { peekBody } from './auth-body.ts';
import type { ReplayGuard } from './auth-replay-guard.ts';
import { type HttpError, httpError, ledgerUnavailable } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';

/** Who pays for a request: an account, through one of its API keys or its own coldkey's signature. */
export interface Payer {
  accountId: string;
  coldkey: string;
  /** Null when the request was signed with the coldkey (Epistula) rather than sent with a key. */
  keyId: string | null;
}

declare module 'hono' {
  interface ContextVariableMap {
    payer: Payer;
  }
}

export interface AuthDeps {
  ledger: Ledger;
  /** Signed requests must be signed for this address (Epistula-Signed-For): the gateway's hotkey. */
  gatewayAddress: string;
  rateLimiter: RateLimiter;
  /** Requests per minute for keys without their own limit, and for signed requests; 0 for none. */
  defaultRatePerMinute: number;
  replayGuard: ReplayGuard;
  logger: Logger;
}

/**
 * Authenticates `Authorization: Bearer tg_…` API keys, or requests signed Epistula-style by an account's
 * coldkey (a wallet paying for itself with no shared secret). Anything else is a 401 in OpenAI's shape;
 * keys are never logged or echoed.
 */
export function authenticate(deps: AuthDeps): MiddlewareHandler {
  return async (c, next) => {
    let identified: Identified;
    try {
      identified = c.req.header('epistula-signed-by') ? await bySignature(c, deps) : await byApiKey(c, deps);
    } catch (error) {
      deps.logger.warn({ err: error }, 'the ledger could not authenticate a request');
      const unavailable = ledgerUnavailable();
      return c.json(unavailable.body, unavailable.status, unavailable.headers);
    }
    if (!identified.ok)
      return c.json(identified.error.body, identified.error.status, identified.error.headers);
    const { payer, ratePerMinute } = identified;
    if (ratePerMinute > 0) {
      const decision = await deps.rateLimiter.take(payer.keyId ?? payer.accountId, ratePerMinute);
      if (!decision.ok) {
        const error = httpError(
          429,
          `Rate limit reached: ${ratePerMinute} requests per minute. Retry in ${decision.retryAfterSeconds}s.`,
          'rate_limit_error',
          'rate_limit_exceeded',
        );
        return c.json(error.body, error.status, { 'retry-after': String(decision.retryAfterSeconds) });
      }
    }
    c.set('payer', payer);
    await next();
  };
}

type Identified = { ok: true; payer: Payer; ratePerMinute: number } | { ok: false; error: HttpError };

function unauthorized(message: string, code = 'invalid_api_key'): Identified {
  return { ok: false, error: httpError(401, message, 'invalid_request_error', code) };
}

async function byApiKey(c: Context, deps: AuthDeps): Promise<Identified> {
  const header = c.req.header('authorization');
  const token = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!token) {
    return unauthorized(
      "You didn't provide an API key. Send it as 'Authorization: Bearer tg_…' (what OpenAI's SDKs send), or sign the request with your coldkey (Epistula headers).",
      'missing_api_key',
    );
  }
  const parsed = parseApiKey(token);
  const record = parsed ? await deps.ledger.key(parsed.id) : undefined;
  // The same answer for a malformed key, an unknown one and a wrong secret: nothing to probe with.
  if (!parsed || !record || !secretMatches(parsed.secretPart, record.hash)) {
    return unauthorized('Incorrect API key provided.');
  }
  if (record.revokedAt !== null) return unauthorized('This API key has been revoked.', 'revoked_api_key');
  return {
    ok: true,
    payer: { accountId: record.accountId, coldkey: record.coldkey, keyId: record.id },
    ratePerMinute: record.ratePerMinute ?? deps.defaultRatePerMinute,
  };
}

async function bySignature(c: Context, deps: AuthDeps): Promise<Identified> {
  const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? '' : await peekBody(c);
  const now = Date.now();
  const verdict = verifyEpistula(c.req.header(), body, deps.gatewayAddress, now);
  if (!verdict.ok) return unauthorized(`Invalid Epistula signature: ${verdict.reason}.`, 'invalid_signature');
  // verifyEpistula accepts any future timestamp, as the subnets' receivers do; a payer's signature must not
  // stay replayable for longer than the freshness window, so the future is bounded by it too.
  if (Number(c.req.header('epistula-timestamp')) > now + EPISTULA_ALLOWED_DELTA_MS) {
    return unauthorized('Invalid Epistula signature: timestamp is in the future.', 'invalid_signature');
  }
  const replayId = `${verdict.signedBy}:${c.req.header('epistula-uuid')}`;
  if (!(await deps.replayGuard.firstSeen(replayId, 2 * EPISTULA_ALLOWED_DELTA_MS))) {
    return unauthorized(
      'Invalid Epistula signature: this request was already received.',
      'replayed_signature',
    );
  }
  // A coldkey that signs is an account: its first signed request opens it (and claims earlier deposits).
  const account =
    (await deps.ledger.accountByColdkey(verdict.signedBy)) ??
    (await deps.ledger
      .createAccount({ coldkey: verdict.signedBy, nowMs: now })
      .catch(() => deps.ledger.accountByColdkey(verdict.signedBy)));
  if (!account) return unauthorized('No account for this coldkey.', 'invalid_signature');
  return {
    ok: true,
    payer: { accountId: account.id, coldkey: account.coldkey, keyId: null },
    ratePerMinute: deps.defaultRatePerMinute,
  };
}
