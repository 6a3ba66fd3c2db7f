export interface BreakerSettings {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open the first time. */
  cooldownMs: number;
  /** Each failed probe doubles the cool-down, up to this. */
  maxCooldownMs: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * How a call was let through. Its outcome is judged by that: only the probe decides a half-open circuit,
 * and calls made before the circuit opened cannot reopen or close it when they finish late.
 */
export type BreakerPermit = 'normal' | 'probe';

/**
 * One miner's circuit breaker: a miner failing again and again is skipped for a cool-down instead of costing
 * every request a failed attempt; then a single probe call decides whether it is back.
 */
export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  #consecutiveFailures = 0;
  #open = false;
  #openUntil = 0;
  #cooldownMs: number;
  #probeInFlight = false;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
    this.#cooldownMs = settings.cooldownMs;
  }

  state(now: number): CircuitState {
    if (!this.#open) return 'closed';
    return now >= this.#openUntil ? 'half-open' : 'open';
  }

  /** When an open circuit lets its next probe through. */
  get reopensAt(): number {
    return this.#openUntil;
  }

  /** Whether a call may go now: always when closed, never while open, one probe at a time when half-open. */
  allows(now: number): boolean {
    const state = this.state(now);
    return state === 'closed' || (state === 'half-open' && !this.#probeInFlight);
  }

  /** Lets a call through; call `allows` first. */
  admit(now: number): BreakerPermit {
    if (this.state(now) !== 'half-open') return 'normal';
    this.#probeInFlight = true;
    return 'probe';
  }

  onSuccess(permit: BreakerPermit): void {
    if (permit === 'probe') {
      this.#probeInFlight = false;
      this.#open = false;
      this.#cooldownMs = this.#settings.cooldownMs;
    }
    if (!this.#open) this.#consecutiveFailures = 0;
  }

  onFailure(permit: BreakerPermit, now: number): void {
    if (permit === 'probe') {
      this.#probeInFlight = false;
      // Backing off keeps a miner that stays down from costing a failed request every cool-down.
      this.#cooldownMs = Math.min(this.#settings.maxCooldownMs, this.#cooldownMs * 2);
      this.#openUntil = now + this.#cooldownMs;
      return;
    }
    if (this.#open) return;
    this.#consecutiveFailures += 1;
    if (this.#consecutiveFailures >= this.#settings.failureThreshold) {
      this.#open = true;
      this.#openUntil = now + this.#cooldownMs;
    }
  }

  /** The call ended without a verdict on the miner (the client went away): the probe may go again. */
  onAbandon(permit: BreakerPermit): void {
    if (permit === 'probe') this.#probeInFlight = false;
  }
}
