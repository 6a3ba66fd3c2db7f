import { ROOT_CONTEXT, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { fromSpanBatch, toSpanBatch } from './span-records.ts';

/** Spans encoded, sent to another thread, and decoded. */
function acrossThreads(spans: readonly ReadableSpan[]): ReadableSpan[] {
  const { batch, transfer } = toSpanBatch(spans);
  return fromSpanBatch(structuredClone(batch, { transfer }));
}

/** What an exporter reads of a span, as plain data (a trace state as its header value). */
function exported(span: ReadableSpan) {
  const context = (c: SpanContext | undefined) => c && { ...c, traceState: c.traceState?.serialize() };
  return {
    name: span.name,
    kind: span.kind,
    context: context(span.spanContext()),
    parent: context(span.parentSpanContext),
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    ended: span.ended,
    status: span.status,
    attributes: span.attributes,
    links: span.links.map((link) => ({ ...link, context: context(link.context) })),
    events: span.events,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
    resource: { attributes: span.resource.attributes, schemaUrl: span.resource.schemaUrl },
    scope: span.instrumentationScope,
  };
}

describe('span records', () => {
  it('carry finished spans across a thread boundary whole: contexts, times, status, attributes, links, events', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes(
        { 'service.name': 'taogate-test' },
        { schemaUrl: 'https://example/1' },
      ),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('taogate', '1.2.3');
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
      traceState: new TraceState('vendor=value,other=1'),
    });
    const server = tracer.startSpan(
      'POST /v1/chat/completions',
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'taogate.request_id': 'r1' } },
      remote,
    );
    const attempt = tracer.startSpan(
      'chat sn18/cortex-chat',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'taogate.netuid': 18,
          'taogate.hedge': false,
          'gen_ai.response.time_to_first_chunk': 0.0125,
          strings: ['a', null, 'b'],
          numbers: [1, 2.5, undefined],
          flags: [true, false],
          empty: [],
          unicode: 'température ✓',
        },
        links: [
          { context: server.spanContext(), attributes: { why: 'hedge' } },
          { context: server.spanContext() },
        ],
      },
      trace.setSpan(remote, server),
    );
    attempt.addEvent('first chunk', { bytes: 12 });
    attempt.addEvent('no attributes');
    attempt.setStatus({ code: SpanStatusCode.ERROR, message: 'late' });
    attempt.end();
    server.end();
    const spans = exporter.getFinishedSpans();

    const received = acrossThreads(spans);

    expect(received.map(exported)).toEqual(spans.map(exported));
    expect(received[0]!.spanContext().traceState?.get('vendor')).toBe('value');
    expect(received[0]!.resource).toBe(received[1]!.resource);
  });

  it('carry values that repeat from span to span and values that change', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('taogate');
    for (const [name, model] of [
      ['chat a', 'sn1/a'],
      ['chat a', 'sn1/a'],
      ['chat b', 'sn1/b'],
      ['chat a', 'sn1/a'],
    ] as const) {
      const server = tracer.startSpan('POST /v1/chat/completions', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      const attempt = tracer.startSpan(name, { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, server));
      attempt.setAttributes({ 'gen_ai.request.model': model, 'taogate.miner.uid': 3 });
      attempt.end();
      server.setAttributes({ 'gen_ai.request.model': model, 'gen_ai.response.model': model });
      server.end();
    }
    const spans = exporter.getFinishedSpans();

    expect(acrossThreads(spans).map(exported)).toEqual(spans.map(exported));
  });

  it('carry an empty batch', () => {
    expect(acrossThreads([])).toEqual([]);
  });
});
