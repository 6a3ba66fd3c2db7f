export { createGatewayMetrics, type GatewayMetrics, type RequestObservation } from './metrics.ts';
