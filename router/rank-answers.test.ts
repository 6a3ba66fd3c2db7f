import { describe, expect, it } from 'vitest';
import { rankAnswers } from './rank-answers.ts';

describe('ranking fan-out answers', () => {
  it('puts the answer the others agree with above an outlier, even a faster one', () => {
    const order = rankAnswers([
      { text: 'I cannot help with that.', latencyMs: 10 },
      { text: 'The capital of France is Paris.', latencyMs: 90 },
      { text: 'Paris is the capital of France.', latencyMs: 80 },
    ]);
    expect(order[2]).toBe(0);
  });

  it('never prefers an empty answer to one with text', () => {
    expect(
      rankAnswers([
        { text: '  ', latencyMs: 1 },
        { text: 'something', latencyMs: 900 },
      ]),
    ).toEqual([1, 0]);
  });

  it('falls back to the faster answer when agreement cannot tell them apart', () => {
    const order = rankAnswers([
      { text: 'alpha beta', latencyMs: 50 },
      { text: 'gamma delta', latencyMs: 20 },
    ]);
    expect(order).toEqual([1, 0]);
  });

  it('ignores case and punctuation when comparing answers', () => {
    const order = rankAnswers([
      { text: 'Paris!', latencyMs: 30 },
      { text: 'paris', latencyMs: 20 },
      { text: 'London', latencyMs: 10 },
    ]);
    expect(order).toEqual([1, 0, 2]);
  });
});
