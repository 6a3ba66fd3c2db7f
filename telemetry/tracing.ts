import { trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  serviceName?: string;
  /**
   * Where spans go. Unset: from the standard variables (`OTEL_TRACES_EXPORTER`, default `otlp`;
   * `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_TRACES_SAMPLER`, …), as sdk-node
   * reads them. Tests pass an in-memory exporter here.
   */
  spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  /** Flushes spans not yet exported and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for traces only: metrics stay with prom-client at /metrics and logs with
 * pino (one library for each), so sdk-node's metric and log pipelines are turned off rather than read from
 * the environment. Never started when tracing is off: the API's tracer is then a no-op and costs nothing,
 * and the SDK is not even imported (it is imported here, not at the top, for that).
 */
export async function startTracing(options: TracingOptions = {}): Promise<Tracing> {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const spanProcessors = options.spanProcessors ?? (await otlpInWorker());
  const { PooledIdGenerator } = await import('./span-ids.ts');
  const sdk = new NodeSDK({
    serviceName: options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'taogate',
    idGenerator: new PooledIdGenerator(),
    ...(spanProcessors ? { spanProcessors } : {}),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/**
 * When spans go to OTLP alone (`OTEL_TRACES_EXPORTER` unset or `otlp`, the default), a batch processor
 * whose exporter runs in a worker thread (WorkerSpanExporter), configured by the same OTEL_* variables;
 * any other choice (console, zipkin, several exporters, none) is left to sdk-node as it reads them.
 */
async function otlpInWorker(): Promise<SpanProcessor[] | undefined> {
  // Read as sdk-node reads them, with the same helpers.
  const { getBooleanFromEnv, getStringListFromEnv } = await import('@opentelemetry/core');
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) return undefined;
  const exporters = new Set(getStringListFromEnv('OTEL_TRACES_EXPORTER'));
  exporters.delete('null');
  if (exporters.size > 1 || (exporters.size === 1 && !exporters.has('otlp'))) return undefined;
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { WorkerSpanExporter } = await import('./worker-span-exporter.ts');
  return [new BatchSpanProcessor(new WorkerSpanExporter())];
}

/** The gateway's tracer; a no-op unless an SDK (ours, or the host application's) is registered. */
export function gatewayTracer() {
  return trace.getTracer('taogate');
}
