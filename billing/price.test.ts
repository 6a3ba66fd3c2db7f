import { describe, expect, it } from 'vitest';
import { generateApiKey, parseApiKey, secretMatches } from './api-keys.ts';
import { costOf } from './price.ts';
import { describePrice, quoteRequest } from './quote.ts';
import { formatTao, parseTao } from './tao-amount.ts';

const price = (p: Partial<Parameters<typeof costOf>[0]>) => ({
  perRequest: 0,
  perThousandInputTokens: 0,
  perThousandOutputTokens: 0,
  perImage: 0,
  ...p,
});

describe('prices', () => {
  it('costs per request, per 1k tokens each way (rounded up) and per image', () => {
    const p = price({
      perRequest: 100,
      perThousandInputTokens: 1000,
      perThousandOutputTokens: 3000,
      perImage: 7,
    });
    expect(costOf(p, { inputTokens: 1, outputTokens: 1, images: 0 })).toBe(100n + 1n + 3n);
    expect(costOf(p, { inputTokens: 2000, outputTokens: 500, images: 2 })).toBe(100n + 2000n + 1500n + 14n);
    expect(costOf(price({}), { inputTokens: 10, outputTokens: 10, images: 1 })).toBe(0n);
  });

  it('stays exact past 2^53 rao', () => {
    const p = price({ perThousandOutputTokens: Number.MAX_SAFE_INTEGER });
    expect(costOf(p, { inputTokens: 0, outputTokens: 4000, images: 0 })).toBe(
      BigInt(Number.MAX_SAFE_INTEGER) * 4n,
    );
  });

  it("reserves a request's worst case: the dearest of its model and the fallbacks that may stand in", () => {
    const catalog = new Map([
      [
        'sn1/a',
        { netuid: 1, price: price({ perRequest: 10, perThousandOutputTokens: 1000 }), fallback: ['sn2/b'] },
      ],
      ['sn2/b', { netuid: 2, price: price({ perRequest: 50 }), fallback: [] }],
    ]);
    const quote = quoteRequest({ models: ['sn1/a'], bodyChars: 400, maxOutputTokens: 20, images: 0 }, (m) =>
      catalog.get(m),
    );
    expect(quote).toMatchObject({ maxRao: 50n, primary: { model: 'sn1/a', netuid: 1 } });
    const pipeline = quoteRequest(
      { models: ['sn1/a', 'sn2/b'], bodyChars: 0, maxOutputTokens: 100, images: 0 },
      (m) => catalog.get(m),
    );
    expect(pipeline?.maxRao).toBe(110n + 50n);
    expect(
      quoteRequest({ models: ['sn9/unknown'], bodyChars: 1, maxOutputTokens: 1, images: 0 }, (m) =>
        catalog.get(m),
      ),
    ).toBeUndefined();
  });

  it('describes a price in words for error messages', () => {
    expect(describePrice(price({ perRequest: 5, perImage: 2 }))).toBe('5 rao per request + 2 rao per image');
    expect(describePrice(price({}))).toBe('free');
  });
});

describe('TAO amounts', () => {
  it('reads decimal TAO exactly as rao and writes it back', () => {
    expect(parseTao('2.5')).toBe(2_500_000_000n);
    expect(parseTao('0.000000001')).toBe(1n);
    expect(parseTao('1.0000000001')).toBeUndefined();
    expect(parseTao('-1')).toBeUndefined();
    expect(parseTao('1e9')).toBeUndefined();
    expect(formatTao(2_500_000_000n)).toBe('2.5');
    expect(formatTao(1n)).toBe('0.000000001');
    expect(formatTao(3_000_000_000n)).toBe('3');
  });
});

describe('API keys', () => {
  it('are shown once as tg_<id>_<secret> and checked against the stored hash only', () => {
    const key = generateApiKey();
    const parsed = parseApiKey(key.secret);
    expect(parsed?.id).toBe(key.id);
    expect(key.hash).not.toContain(parsed!.secretPart);
    expect(secretMatches(parsed!.secretPart, key.hash)).toBe(true);
    const last = parsed!.secretPart.at(-1) === 'A' ? 'B' : 'A';
    expect(secretMatches(`${parsed!.secretPart.slice(0, -1)}${last}`, key.hash)).toBe(false);
    expect(secretMatches(parsed!.secretPart, 'not-hex')).toBe(false);
    expect(parseApiKey('sk-openai-key')).toBeUndefined();
    expect(parseApiKey(`${key.secret} `)).toBeUndefined();
  });
});
