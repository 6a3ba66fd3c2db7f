import type { Price } from '../config/index.ts';

/** What one answer used, as the gateway counts it (subnets report no token counts of their own). */
export interface MeteredUsage {
  inputTokens: number;
  outputTokens: number;
  images: number;
}

/**
 * What a call costs in rao: per request, plus each 1k-token price for the tokens used (rounded up, so a
 * short answer on a per-token price is never free), plus per image. Integer arithmetic throughout.
 */
export function costOf(price: Price, usage: MeteredUsage): bigint {
  return (
    BigInt(price.perRequest) +
    perThousand(price.perThousandInputTokens, usage.inputTokens) +
    perThousand(price.perThousandOutputTokens, usage.outputTokens) +
    BigInt(price.perImage) * BigInt(usage.images)
  );
}

function perThousand(raoPerThousand: number, tokens: number): bigint {
  const product = BigInt(raoPerThousand) * BigInt(tokens);
  return (product + 999n) / 1000n;
}
