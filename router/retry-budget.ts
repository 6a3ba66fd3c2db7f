import type { Clock } from './clock.ts';

export interface RetryBudgetSettings {
  /** Retries allowed in a window, as a share of the requests in it (0.2: at most one retry per five). */
  ratio: number;
  /** Retries always allowed per window, so a quiet subnet can still fail over. */
  floor: number;
  windowMs: number;
}

/** The window slides in this many steps: finer costs more to sum, coarser forgets in bigger jumps. */
const BUCKETS = 10;

/**
 * Caps retries to a share of recent requests. Without it, a subnet whose miners all fail turns every
 * request into `maxAttempts` upstream calls just when the miners are least able to take them; with it,
 * upstream calls per request fall towards one (after the floor is spent) under total failure.
 */
export class RetryBudget {
  readonly #settings: RetryBudgetSettings;
  readonly #clock: Clock;
  readonly #bucketMs: number;
  /** Per bucket: which step of time it counts for, and its counts. */
  readonly #steps = new Float64Array(BUCKETS).fill(-1);
  readonly #requests = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);

  constructor(settings: RetryBudgetSettings, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
    this.#bucketMs = settings.windowMs / BUCKETS;
  }

  recordRequest(): void {
    this.#requests[this.#currentBucket()]! += 1;
  }

  /** Takes one retry from the budget if there is one left. */
  tryRetry(): boolean {
    const current = this.#currentBucket();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    if (retries + 1 > this.#settings.floor + this.#settings.ratio * requests) return false;
    this.#retries[current]! += 1;
    return true;
  }

  /** The bucket for now, after clearing every bucket that has slid out of the window. */
  #currentBucket(): number {
    const step = Math.floor(this.#clock() / this.#bucketMs);
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#steps[i]! > step - BUCKETS) continue;
      this.#steps[i] = -1;
      this.#requests[i] = 0;
      this.#retries[i] = 0;
    }
    const index = ((step % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.#steps[index] !== step) {
      this.#steps[index] = step;
      this.#requests[index] = 0;
      this.#retries[index] = 0;
    }
    return index;
  }
}
