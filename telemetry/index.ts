export {
  type AttemptObservation,
  type AttemptOutcomeLabel,
  createGatewayMetrics,
  type GatewayMetrics,
  type GenerationObservation,
  type MinerBucket,
  type RequestObservation,
} from './metrics.ts';
export { createMinerBuckets } from './miner-buckets.ts';
export { type AdapterObserver, createAttemptObserver, observedAdapters } from './observed-adapter.ts';
export {
  type CacheResult,
  currentRequest,
  newRequestTelemetry,
  noteFanout,
  noteRequestedModel,
  noteUsage,
  type RequestTelemetry,
  requestLogFields,
  withRequest,
} from './request-context.ts';
export { endRequestSpan, startRequestSpan } from './request-span.ts';
export type { CacheGaugeSource, SubnetGaugeSource } from './scrape-gauges.ts';
export { OPERATION_BY_ROUTE } from './span-attributes.ts';
export { SLOT_MS, type SubnetTraffic, type TrafficPoint, type TrafficSummary } from './subnet-traffic.ts';
export { startTracing, type Tracing, type TracingOptions } from './tracing.ts';
