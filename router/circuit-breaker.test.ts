import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';

const settings = { failureThreshold: 3, cooldownMs: 1000, maxCooldownMs: 4000 };

/** A breaker opened at t=0 by `failureThreshold` consecutive failures. */
function openedBreaker(): CircuitBreaker {
  const breaker = new CircuitBreaker(settings);
  for (let i = 0; i < settings.failureThreshold; i++) breaker.onFailure(breaker.admit(0), 0);
  return breaker;
}

describe('circuit breaker', () => {
  it('opens after the configured consecutive failures, and only then', () => {
    const breaker = new CircuitBreaker(settings);
    breaker.onFailure(breaker.admit(0), 0);
    breaker.onFailure(breaker.admit(0), 0);
    expect(breaker.state(0)).toBe('closed');
    expect(breaker.allows(0)).toBe(true);

    breaker.onFailure(breaker.admit(0), 0);
    expect(breaker.state(0)).toBe('open');
    expect(breaker.allows(999)).toBe(false);
    expect(breaker.reopensAt).toBe(1000);
  });

  it('starts counting again after a success', () => {
    const breaker = new CircuitBreaker(settings);
    breaker.onFailure(breaker.admit(0), 0);
    breaker.onFailure(breaker.admit(0), 0);
    breaker.onSuccess(breaker.admit(0));
    breaker.onFailure(breaker.admit(0), 0);
    breaker.onFailure(breaker.admit(0), 0);

    expect(breaker.state(0)).toBe('closed');
  });

  it('lets exactly one probe through once the cool-down is over', () => {
    const breaker = openedBreaker();
    expect(breaker.state(1000)).toBe('half-open');
    expect(breaker.allows(1000)).toBe(true);

    expect(breaker.admit(1000)).toBe('probe');
    expect(breaker.allows(1000)).toBe(false);
    expect(breaker.allows(5000)).toBe(false);
  });

  it('closes when the probe succeeds', () => {
    const breaker = openedBreaker();
    breaker.onSuccess(breaker.admit(1000));

    expect(breaker.state(1000)).toBe('closed');
    expect(breaker.allows(1000)).toBe(true);
  });

  it('reopens with a doubled cool-down when the probe fails, up to the maximum', () => {
    const breaker = openedBreaker();
    breaker.onFailure(breaker.admit(1000), 1000);
    expect(breaker.state(1000)).toBe('open');
    expect(breaker.reopensAt).toBe(3000);

    breaker.onFailure(breaker.admit(3000), 3000);
    expect(breaker.reopensAt).toBe(7000);
    breaker.onFailure(breaker.admit(7000), 7000);
    expect(breaker.reopensAt).toBe(11_000);
  });

  it('starts from the base cool-down again once closed', () => {
    const breaker = openedBreaker();
    breaker.onFailure(breaker.admit(1000), 1000);
    breaker.onSuccess(breaker.admit(3000));
    for (let i = 0; i < settings.failureThreshold; i++) breaker.onFailure(breaker.admit(3000), 3000);

    expect(breaker.reopensAt).toBe(4000);
  });

  it('ignores late outcomes of calls let through before it opened', () => {
    const breaker = new CircuitBreaker(settings);
    const early = breaker.admit(0);
    for (let i = 0; i < settings.failureThreshold; i++) breaker.onFailure(breaker.admit(0), 0);
    breaker.onSuccess(early);
    expect(breaker.state(0)).toBe('open');

    const probe = breaker.admit(1000);
    breaker.onFailure(early, 1000);
    expect(breaker.allows(1000)).toBe(false);
    breaker.onSuccess(probe);
    expect(breaker.state(1000)).toBe('closed');
  });

  it('lets another probe go when one ends without a verdict (the client went away)', () => {
    const breaker = openedBreaker();
    breaker.onAbandon(breaker.admit(1000));

    expect(breaker.state(1000)).toBe('half-open');
    expect(breaker.allows(1000)).toBe(true);
  });
});
