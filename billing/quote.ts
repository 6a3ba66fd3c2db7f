import type { Price } from '../config/index.ts';
import { costOf } from './price.ts';
import type { ModelPrice } from './usage-meter.ts';

/** What the gateway knows of a request before it is served, to price its worst case. */
export interface QuoteInput {
  /** Every catalogue model the request may call: its own, or each step of a pipeline. */
  models: readonly string[];
  /** Characters in the request body: an upper bound on its prompt (every prompt character is in it). */
  bodyChars: number;
  /** `max_tokens` when the request sets it, else the gateway's assumption for a request without one. */
  maxOutputTokens: number;
  images: number;
}

export interface Quote {
  /** The most the request can be charged: what is reserved before it is served. */
  maxRao: bigint;
  /** The first model's price, for the 402 message and answers that report no usage. */
  primary: ModelPrice & { model: string };
}

/**
 * The worst case of a request: for each model it may call, the dearest of that model and the fallbacks
 * that may stand in for it, at the request's whole body as input and its token limit as output.
 */
export function quoteRequest(
  input: QuoteInput,
  priceOf: (model: string) => (ModelPrice & { fallback: readonly string[] }) | undefined,
): Quote | undefined {
  const first = input.models[0];
  const primary = first === undefined ? undefined : priceOf(first);
  if (!first || !primary) return undefined;
  const usage = {
    inputTokens: Math.ceil(input.bodyChars / 4),
    outputTokens: input.maxOutputTokens,
    images: input.images,
  };
  let maxRao = 0n;
  for (const model of input.models) {
    const priced = priceOf(model);
    if (!priced) return undefined;
    let dearest = costOf(priced.price, usage);
    for (const standIn of priced.fallback) {
      const fallback = priceOf(standIn);
      if (fallback) dearest = maxOf(dearest, costOf(fallback.price, usage));
    }
    maxRao += dearest;
  }
  return { maxRao, primary: { model: first, netuid: primary.netuid, price: primary.price } };
}

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** A price in words, for error messages: `100000 rao per request + 200000 per 1k input tokens`. */
export function describePrice(price: Price): string {
  const parts = [
    price.perRequest ? `${price.perRequest} rao per request` : '',
    price.perThousandInputTokens ? `${price.perThousandInputTokens} rao per 1k input tokens` : '',
    price.perThousandOutputTokens ? `${price.perThousandOutputTokens} rao per 1k output tokens` : '',
    price.perImage ? `${price.perImage} rao per image` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' + ') : 'free';
}
