// The export worker: turns span batches back into spans and hands them to the OTLP exporter that
// OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL names, configured by the standard OTEL_* variables as sdk-node would
// configure it. Serialising and sending run here, off the gateway's event loop.
import { parentPort } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { fromSpanBatch } from './span-records.ts';
import type { ExportWorkerReply, ExportWorkerRequest } from './worker-span-exporter.ts';

async function otlpExporterFromEnv(): Promise<SpanExporter> {
  const protocol =
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    'http/protobuf';
  if (protocol === 'grpc')
    return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  if (protocol === 'http/json')
    return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

const port = parentPort!;
const exporter = await otlpExporterFromEnv();
const reply = (message: ExportWorkerReply) => port.postMessage(message);

port.on('message', (message: ExportWorkerRequest) => {
  if (message.kind === 'export') {
    exporter.export(fromSpanBatch(message.batch), (result) =>
      reply({
        kind: 'exported',
        id: message.id,
        ok: result.code === ExportResultCode.SUCCESS,
        error: result.error?.message,
      }),
    );
  } else {
    const done = message.kind === 'flush' ? exporter.forceFlush?.() : exporter.shutdown();
    Promise.resolve(done).then(
      () => reply({ kind: 'done', id: message.id }),
      (error: Error) => reply({ kind: 'done', id: message.id, error: error.message }),
    );
  }
});
