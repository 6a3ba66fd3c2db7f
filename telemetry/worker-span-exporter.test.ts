import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerSpanExporter } from './worker-span-exporter.ts';

interface OtlpJson {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { scope: { name: string }; spans: Record<string, unknown>[] }[];
  }[];
}

/** A stand-in OTLP/HTTP JSON collector: every export request's body, parsed. */
async function startCollector() {
  const exports: OtlpJson[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      exports.push(JSON.parse(Buffer.concat(chunks).toString()) as OtlpJson);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, exports, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const ENV = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
] as const;
const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
let collector: Server | undefined;

afterEach(() => {
  for (const name of ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  collector?.close();
});

describe('WorkerSpanExporter', () => {
  it('sends spans through the OTLP exporter the OTEL_* variables configure, from its worker thread', async () => {
    const sink = await startCollector();
    collector = sink.server;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
    const exporter = new WorkerSpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'taogate-test' }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('taogate');

    const server = tracer.startSpan('POST /v1/chat/completions', {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'POST' },
    });
    const parent = trace.setSpan(ROOT_CONTEXT, server);
    const attempt = tracer.startSpan(
      'chat sn18/cortex-chat',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'taogate.netuid': 18, 'taogate.hedge': false },
        links: [
          {
            context: { ...server.spanContext(), traceState: new TraceState('vendor=value') },
            attributes: { why: 'test' },
          },
        ],
      },
      parent,
    );
    attempt.addEvent('first chunk', { bytes: 12 });
    attempt.setStatus({ code: SpanStatusCode.ERROR, message: 'late' });
    attempt.end();
    server.end();
    await provider.forceFlush();

    const spans = sink.exports.flatMap((sent) =>
      sent.resourceSpans.flatMap(({ scopeSpans }) => scopeSpans.flatMap(({ spans }) => spans)),
    );
    expect(spans.map((span) => span.name).sort()).toEqual([
      'POST /v1/chat/completions',
      'chat sn18/cortex-chat',
    ]);
    const sentAttempt = spans.find((span) => span.name === 'chat sn18/cortex-chat')!;
    const sentServer = spans.find((span) => span.name === 'POST /v1/chat/completions')!;
    expect(sentAttempt).toMatchObject({
      traceId: server.spanContext().traceId,
      spanId: attempt.spanContext().spanId,
      parentSpanId: server.spanContext().spanId,
      kind: 3,
      status: { code: 2, message: 'late' },
      attributes: [
        { key: 'taogate.netuid', value: { intValue: 18 } },
        { key: 'taogate.hedge', value: { boolValue: false } },
      ],
      events: [{ name: 'first chunk', attributes: [{ key: 'bytes', value: { intValue: 12 } }] }],
      links: [{ spanId: server.spanContext().spanId, traceState: 'vendor=value' }],
    });
    expect(sentServer.parentSpanId).toBeUndefined();
    const resource = sink.exports[0]!.resourceSpans[0]!.resource.attributes;
    expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'taogate-test' } });
    expect(sink.exports[0]!.resourceSpans[0]!.scopeSpans[0]!.scope.name).toBe('taogate');

    await provider.shutdown();
  });

  it('reports a failed export when the collector cannot be reached', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9';
    // The exporter retries until its timeout (10 s by default).
    process.env.OTEL_EXPORTER_OTLP_TIMEOUT = '500';
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
    const exporter = new WorkerSpanExporter();
    const provider = new BasicTracerProvider();
    const span = provider.getTracer('taogate').startSpan('lost');
    span.end();
    const result = await new Promise<{ code: number }>((resolve) =>
      exporter.export([span as never], resolve),
    );
    expect(result.code).toBe(1);
    await exporter.shutdown();
  });
});
