import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.ts';

function budgetAt(settings: { ratio: number; floor: number; windowMs: number }) {
  const clock = { now: 0 };
  return { budget: new RetryBudget(settings, () => clock.now), clock };
}

function retriesGranted(budget: RetryBudget, tries: number): number {
  let granted = 0;
  for (let i = 0; i < tries; i++) if (budget.tryRetry()) granted++;
  return granted;
}

describe('retry budget', () => {
  it('allows the floor even without requests', () => {
    const { budget } = budgetAt({ ratio: 0.2, floor: 3, windowMs: 10_000 });
    expect(retriesGranted(budget, 10)).toBe(3);
  });

  it('allows retries up to the ratio of requests, on top of the floor', () => {
    const { budget } = budgetAt({ ratio: 0.2, floor: 3, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(retriesGranted(budget, 100)).toBe(23);
  });

  it('grants again once spent retries slide out of the window', () => {
    const { budget, clock } = budgetAt({ ratio: 0, floor: 2, windowMs: 10_000 });
    expect(retriesGranted(budget, 5)).toBe(2);

    clock.now = 9_000;
    expect(retriesGranted(budget, 5)).toBe(0);
    clock.now = 10_000;
    expect(retriesGranted(budget, 5)).toBe(2);
  });

  it('forgets requests that slid out of the window, so they earn no retries later', () => {
    const { budget, clock } = budgetAt({ ratio: 0.5, floor: 0, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    clock.now = 25_000;
    expect(budget.tryRetry()).toBe(false);
  });
});
