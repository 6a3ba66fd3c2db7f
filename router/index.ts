export type { Candidate } from './candidates.ts';
export { buildCatalog, type RoutableModel } from './catalog.ts';
export type { BreakerSettings, CircuitState } from './circuit-breaker.ts';
export {
  DeadlineExceeded,
  MinersAtCapacity,
  ModelNotFound,
  NoHealthyMiner,
  UpstreamExhausted,
} from './errors.ts';
export type { InFlightSettings } from './in-flight.ts';
export type { MinerReport } from './miner-health.ts';
export type { RetryBudgetSettings } from './retry-budget.ts';
export { type ChatRouter, createChatRouter, type Routed, type RouteOptions } from './route-chat.ts';
export type { ResilienceSettings } from './settings.ts';
