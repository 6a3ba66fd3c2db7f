import type { BreakerSettings } from './circuit-breaker.ts';
import type { InFlightSettings } from './in-flight.ts';
import type { RetryBudgetSettings } from './retry-budget.ts';

/** How the router protects requests from bad miners, and miners from retry storms. */
export interface ResilienceSettings {
  /** Observed outcomes lose half their weight every this many ms. */
  statsHalfLifeMs: number;
  breaker: BreakerSettings;
  retryBudget: RetryBudgetSettings;
  inFlight: InFlightSettings;
}
