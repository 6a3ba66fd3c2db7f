import type { BreakerSettings } from './circuit-breaker.ts';
import type { InFlightSettings } from './in-flight.ts';
import type { MinerRanking } from './reranker/index.ts';
import type { RetryBudgetSettings } from './retry-budget.ts';
import type { RoutingWeighting } from './routing-weight.ts';

/** How the router protects requests from bad miners, and miners from retry storms. */
export interface ResilienceSettings {
  /** Observed outcomes lose half their weight every this many ms. */
  statsHalfLifeMs: number;
  breaker: BreakerSettings;
  retryBudget: RetryBudgetSettings;
  inFlight: InFlightSettings;
  /** What miners are weighted by when one is chosen; `blended` when unset. */
  weighting?: RoutingWeighting;
  /**
   * The ONNX reranker and trace recorder. Carried here because miner selection is built from these
   * settings; live objects rather than settings, so config leaves it unset and start-up adds it.
   */
  ranking?: MinerRanking;
}
