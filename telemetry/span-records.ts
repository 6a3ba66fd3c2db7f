import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/** A span context with its trace state serialised: a TraceState is a class, which cloning would strip. */
type SpanContextRecord = Omit<SpanContext, 'traceState'> & { traceState: string | undefined };

/**
 * A finished span as plain data, the form that crosses to the export worker: a ReadableSpan carries
 * methods (`spanContext()`, `traceState.serialize()`) and its resource, which structured cloning drops.
 */
interface SpanRecord {
  name: string;
  kind: SpanKind;
  context: SpanContextRecord;
  parent: SpanContextRecord | undefined;
  startTime: HrTime;
  endTime: HrTime;
  duration: HrTime;
  status: SpanStatus;
  attributes: Attributes;
  links: {
    context: SpanContextRecord;
    attributes: Attributes | undefined;
    droppedAttributesCount: number | undefined;
  }[];
  events: TimedEvent[];
  droppedAttributesCount: number;
  droppedEventsCount: number;
  droppedLinksCount: number;
  /** Index into the batch's resources. */
  resource: number;
  scope: ReadableSpan['instrumentationScope'];
}

/** One export: the spans and the resources they came from (one per tracer provider, so nearly always one). */
export interface SpanBatch {
  resources: { attributes: Attributes; schemaUrl: string | undefined }[];
  spans: SpanRecord[];
}

export function toSpanBatch(spans: readonly ReadableSpan[]): SpanBatch {
  const resources: SpanBatch['resources'] = [];
  const indexOf = new Map<Resource, number>();
  const records = spans.map((span): SpanRecord => {
    let resource = indexOf.get(span.resource);
    if (resource === undefined) {
      resource =
        resources.push({ attributes: span.resource.attributes, schemaUrl: span.resource.schemaUrl }) - 1;
      indexOf.set(span.resource, resource);
    }
    return {
      name: span.name,
      kind: span.kind,
      context: contextRecord(span.spanContext()),
      parent: span.parentSpanContext && contextRecord(span.parentSpanContext),
      startTime: span.startTime,
      endTime: span.endTime,
      duration: span.duration,
      status: span.status,
      attributes: span.attributes,
      links: span.links.map((link) => ({
        context: contextRecord(link.context),
        attributes: link.attributes,
        droppedAttributesCount: link.droppedAttributesCount,
      })),
      events: span.events,
      droppedAttributesCount: span.droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
      resource,
      scope: span.instrumentationScope,
    };
  });
  return { resources, spans: records };
}

/** The batch as ReadableSpans again, for an SDK exporter; spans of one resource share one Resource. */
export function fromSpanBatch(batch: SpanBatch): ReadableSpan[] {
  const resources = batch.resources.map(({ attributes, schemaUrl }) =>
    resourceFromAttributes(attributes, schemaUrl === undefined ? undefined : { schemaUrl }),
  );
  return batch.spans.map((record) => {
    const context = spanContextOf(record.context);
    return {
      name: record.name,
      kind: record.kind,
      spanContext: () => context,
      parentSpanContext: record.parent && spanContextOf(record.parent),
      startTime: record.startTime,
      endTime: record.endTime,
      duration: record.duration,
      status: record.status,
      attributes: record.attributes,
      links: record.links.map(
        (link): Link => ({
          context: spanContextOf(link.context),
          attributes: link.attributes,
          droppedAttributesCount: link.droppedAttributesCount,
        }),
      ),
      events: record.events,
      ended: true,
      droppedAttributesCount: record.droppedAttributesCount,
      droppedEventsCount: record.droppedEventsCount,
      droppedLinksCount: record.droppedLinksCount,
      resource: resources[record.resource]!,
      instrumentationScope: record.scope,
    };
  });
}

function contextRecord(context: SpanContext): SpanContextRecord {
  return { ...context, traceState: context.traceState?.serialize() };
}

function spanContextOf(record: SpanContextRecord): SpanContext {
  const { traceState, ...context } = record;
  return traceState === undefined ? context : { ...context, traceState: new TraceState(traceState) };
}
