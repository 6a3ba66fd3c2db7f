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
export {
  type RoutedTaskWithFallback,
  type RoutedWithFallback,
  routeTaskWithFallback,
  routeWithFallback,
} from './fallback.ts';
export type { FannedOut, FanOutVerdict } from './fan-out.ts';
export type { HedgeSettings } from './hedge.ts';
export type { InFlightSettings } from './in-flight.ts';
export type { MinerReport } from './miner-health.ts';
export { createMinerRanking, type MinerRanking, type MinerRankingSettings } from './reranker/index.ts';
export type { RetryBudgetSettings } from './retry-budget.ts';
export {
  type ChatRouter,
  createChatRouter,
  type Routed,
  type RoutedAnswer,
  type RouteOptions,
} from './route-chat.ts';
export type { RoutingWeighting } from './routing-weight.ts';
export type { ResilienceSettings } from './settings.ts';
