import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: from a cache-hit-fast answer to a slow miner near the default deadline. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface RequestObservation {
  /** The route pattern (`/v1/chat/completions`), never the raw path: label values must stay few. */
  route: string;
  status: number;
  /** The subnet that answered, or undefined when none did. */
  netuid: number | undefined;
  seconds: number;
}

/** The gateway's Prometheus metrics, in a registry of its own so several gateways can share a process (tests). */
export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'taogate_' });
  const labelNames = ['route', 'status', 'netuid'] as const;
  const requests = new Counter({
    name: 'taogate_http_requests_total',
    help: 'HTTP requests answered, by route, status and the subnet that answered',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'taogate_http_request_duration_seconds',
    help: 'Time to the response headers (whole answer for JSON, first token for streams), per subnet',
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  return {
    contentType: registry.contentType,
    observeRequest({ route, status, netuid, seconds }: RequestObservation): void {
      const labels = {
        route,
        status: String(status),
        netuid: netuid === undefined ? 'none' : String(netuid),
      };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    render: () => registry.metrics(),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
