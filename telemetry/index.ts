export {
  type AttemptObservation,
  type AttemptOutcomeLabel,
  createGatewayMetrics,
  type GatewayMetrics,
  type GenerationObservation,
  type MinerBucket,
  type RequestObservation,
  type SubnetGaugeSource,
} from './metrics.ts';
export {
  type CacheResult,
  currentRequest,
  noteRequestedModel,
  noteUsage,
  type RequestTelemetry,
  requestLogFields,
} from './request-context.ts';
export type { SubnetTraffic, TrafficPoint, TrafficSummary } from './subnet-traffic.ts';
