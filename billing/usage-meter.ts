import { AsyncLocalStorage } from 'node:async_hooks';
import type { Price } from '../config/index.ts';
import { costOf, type MeteredUsage } from './price.ts';

/** A model's price and subnet, as the catalogue knows it. */
export interface ModelPrice {
  netuid: number;
  price: Price;
}

/** One answered upstream call: a request reports one, a pipeline one per step. */
export interface MeteredAnswer extends Partial<MeteredUsage> {
  /** The model that answered (a fallback's id when one stood in). */
  model: string;
}

/** An answer as metered: priced at its subnet's price. */
export type PricedAnswer = MeteredAnswer & { netuid: number; costRao: bigint };

export interface MeterReading {
  costRao: bigint;
  answers: readonly PricedAnswer[];
  /** The answer failed after its headers were sent (mid-stream): it is not charged. */
  failed: boolean;
}

/**
 * The contract between the billing middleware and the handlers: while a billed request is served, the
 * handler reports what its answer used (`recordUsage`), and the middleware charges exactly that once the
 * response is finished. Outside a billed request (ledger off), reporting is a no-op.
 */
export class UsageMeter {
  readonly #priceOf: (model: string) => ModelPrice | undefined;
  readonly #defaultPrice: ModelPrice;
  readonly #answers: PricedAnswer[] = [];
  #costRao = 0n;
  #failed = false;
  #reported!: () => void;
  /** Resolves once the handler has reported (an answer or a failure). */
  readonly reported = new Promise<void>((resolve) => {
    this.#reported = resolve;
  });

  constructor(priceOf: (model: string) => ModelPrice | undefined, defaultPrice: ModelPrice) {
    this.#priceOf = priceOf;
    this.#defaultPrice = defaultPrice;
  }

  /** Adds an answer's usage; returns its cost in rao. */
  record(answer: MeteredAnswer): bigint {
    const priced = this.#priceOf(answer.model) ?? this.#defaultPrice;
    const cost = costOf(priced.price, {
      inputTokens: answer.inputTokens ?? 0,
      outputTokens: answer.outputTokens ?? 0,
      images: answer.images ?? 0,
    });
    this.#answers.push({ ...answer, netuid: priced.netuid, costRao: cost });
    this.#costRao += cost;
    this.#reported();
    return cost;
  }

  fail(): void {
    this.#failed = true;
    this.#reported();
  }

  read(): MeterReading {
    return { costRao: this.#costRao, answers: this.#answers, failed: this.#failed };
  }
}

const meters = new AsyncLocalStorage<UsageMeter>();

export function withUsageMeter<T>(meter: UsageMeter, work: () => T): T {
  return meters.run(meter, work);
}

/**
 * Reports an answer's OpenAI `usage` to the current meter and returns it with `cost_rao` added; unchanged
 * when the request is not billed.
 */
export function meteredUsage<U extends { prompt_tokens: number; completion_tokens?: number }>(
  model: string,
  usage: U,
  images = 0,
): U & { cost_rao?: number } {
  const meter = meters.getStore();
  if (!meter) return usage;
  const cost = meter.record({
    model,
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens ?? 0,
    images,
  });
  return { ...usage, cost_rao: Number(cost) };
}

/** Tells the current meter the answer failed after its headers went out, so it is not charged. */
export function meterFailure(): void {
  meters.getStore()?.fail();
}
