import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * Finished spans encoded for the export worker. Structured cloning of the spans as objects (a dozen per
 * span: contexts, times, status, attributes, …) cost ~2 µs a span on the gateway's thread, the largest part
 * of what reached the worker cost; here a span is a run of numbers in one Float64Array, which is transferred
 * rather than copied, and its strings are indices into one array of strings (attribute keys, which repeat
 * from span to span, once per batch). A ReadableSpan carries methods
 * (`spanContext()`, a TraceState) and its resource, which cloning would drop anyway.
 */
export interface SpanBatch {
  numbers: Float64Array;
  strings: string[];
  /** One per tracer provider, so nearly always one. */
  resources: { attributes: Attributes; schemaUrl: string | undefined }[];
  scopes: ReadableSpan['instrumentationScope'][];
}

/** What the worker is sent: the batch, and the buffer to transfer with it rather than copy. */
export function toSpanBatch(spans: readonly ReadableSpan[]): { batch: SpanBatch; transfer: ArrayBuffer[] } {
  const writer = new BatchWriter(spans.length);
  for (const span of spans) writer.add(span);
  return writer.finish();
}

/** The batch as ReadableSpans again, for an SDK exporter; spans of one resource share one Resource. */
export function fromSpanBatch(batch: SpanBatch): ReadableSpan[] {
  return new BatchReader(batch).spans();
}

/** How an attribute value is written: a tag, then what the tag says follows. */
const Tag = {
  String: 0,
  Number: 1,
  Boolean: 2,
  /** Its length, then its elements, each tagged. */
  Array: 3,
  Null: 4,
  Undefined: 5,
} as const;

/** An optional string or count that is absent. */
const ABSENT = -1;

/** A little more than a request or attempt span with its dozen attributes takes (~70): a batch seldom grows. */
const NUMBERS_PER_SPAN = 80;

class BatchWriter {
  #numbers: Float64Array;
  #length = 0;
  readonly #strings: string[] = [];
  readonly #keys = new Map<string, AttributeKey>();
  /** Span names by span kind: a server span's is often its previous one's, an attempt's likewise. */
  readonly #names = Array.from({ length: 5 }, () => new LastString());
  readonly #traceIds = new LastString();
  readonly #spanIds = new LastString();
  readonly #resourceIndex = new Map<Resource, number>();
  readonly #scopes: SpanBatch['scopes'] = [];
  readonly #scopeIndex = new Map<ReadableSpan['instrumentationScope'], number>();

  constructor(spans: number) {
    this.#numbers = new Float64Array(Math.max(spans, 1) * NUMBERS_PER_SPAN);
  }

  add(span: ReadableSpan): void {
    this.#repeated(this.#names[span.kind] ?? new LastString(), span.name);
    this.#number(span.kind);
    this.#context(span.spanContext());
    if (span.parentSpanContext) {
      this.#number(1);
      this.#context(span.parentSpanContext);
    } else this.#number(0);
    this.#time(span.startTime);
    this.#time(span.endTime);
    this.#time(span.duration);
    this.#number(span.status.code);
    this.#optionalString(span.status.message);
    this.#attributes(span.attributes);
    this.#number(span.links.length);
    for (const link of span.links) {
      this.#context(link.context);
      this.#optionalAttributes(link.attributes);
      this.#number(link.droppedAttributesCount ?? ABSENT);
    }
    this.#number(span.events.length);
    for (const event of span.events) {
      this.#string(event.name);
      this.#time(event.time);
      this.#optionalAttributes(event.attributes);
      this.#number(event.droppedAttributesCount ?? ABSENT);
    }
    this.#number(span.droppedAttributesCount);
    this.#number(span.droppedEventsCount);
    this.#number(span.droppedLinksCount);
    this.#number(this.#resourceOf(span.resource));
    this.#number(this.#scopeOf(span.instrumentationScope));
  }

  finish(): { batch: SpanBatch; transfer: ArrayBuffer[] } {
    const resources = [...this.#resourceIndex.keys()].map((resource) => ({
      attributes: resource.attributes,
      schemaUrl: resource.schemaUrl,
    }));
    const numbers = this.#numbers.subarray(0, this.#length);
    return {
      batch: { numbers, strings: this.#strings, resources, scopes: this.#scopes },
      transfer: [numbers.buffer as ArrayBuffer],
    };
  }

  #number(value: number): void {
    if (this.#length === this.#numbers.length) {
      const grown = new Float64Array(this.#numbers.length * 2);
      grown.set(this.#numbers);
      this.#numbers = grown;
    }
    this.#numbers[this.#length++] = value;
  }

  #string(value: string): void {
    this.#number(this.#strings.push(value) - 1);
  }

  /**
   * A string that is often the one last written in its place (an attribute's value, a span's name, the
   * trace id of a request's spans, a parent's span id as the next span's own): written again only when it
   * differs, as each string costs the structured clone it crosses in. A comparison is all this costs:
   * looking every string up to write it once per batch cost more than it saved, as most of them (ids,
   * names built per span) are new and had to be hashed and inserted.
   */
  #repeated(last: LastString, value: string): void {
    if (last.value !== value) {
      last.value = value;
      last.index = this.#strings.push(value) - 1;
    }
    this.#number(last.index);
  }

  /** An attribute key: the same constant strings from span to span, so found cheaply to be written once. */
  #key(key: string): AttributeKey {
    let found = this.#keys.get(key);
    if (found === undefined) {
      found = { index: this.#strings.push(key) - 1, lastValue: new LastString() };
      this.#keys.set(key, found);
    }
    this.#number(found.index);
    return found;
  }

  #optionalString(value: string | undefined): void {
    if (value === undefined) this.#number(ABSENT);
    else this.#string(value);
  }

  #time(time: HrTime): void {
    this.#number(time[0]);
    this.#number(time[1]);
  }

  #context(context: SpanContext): void {
    this.#repeated(this.#traceIds, context.traceId);
    this.#repeated(this.#spanIds, context.spanId);
    this.#number(context.traceFlags);
    this.#number(context.isRemote === undefined ? ABSENT : Number(context.isRemote));
    this.#optionalString(context.traceState?.serialize());
  }

  #attributes(attributes: Attributes): void {
    const countAt = this.#length;
    this.#number(0);
    let count = 0;
    for (const key in attributes) {
      const value = attributes[key];
      const { lastValue } = this.#key(key);
      if (typeof value === 'string') {
        this.#number(Tag.String);
        this.#repeated(lastValue, value);
      } else this.#value(value);
      count++;
    }
    this.#numbers[countAt] = count;
  }

  #optionalAttributes(attributes: Attributes | undefined): void {
    if (attributes === undefined) this.#number(ABSENT);
    else this.#attributes(attributes);
  }

  #value(value: AttributeValue | null | undefined): void {
    if (typeof value === 'string') {
      this.#number(Tag.String);
      this.#string(value);
    } else if (typeof value === 'number') {
      this.#number(Tag.Number);
      this.#number(value);
    } else if (typeof value === 'boolean') {
      this.#number(Tag.Boolean);
      this.#number(Number(value));
    } else if (Array.isArray(value)) {
      this.#number(Tag.Array);
      this.#number(value.length);
      for (const element of value) this.#value(element);
    } else this.#number(value === null ? Tag.Null : Tag.Undefined);
  }

  #resourceOf(resource: Resource): number {
    let index = this.#resourceIndex.get(resource);
    if (index === undefined) {
      index = this.#resourceIndex.size;
      this.#resourceIndex.set(resource, index);
    }
    return index;
  }

  #scopeOf(scope: ReadableSpan['instrumentationScope']): number {
    let index = this.#scopeIndex.get(scope);
    if (index === undefined) {
      index = this.#scopes.push(scope) - 1;
      this.#scopeIndex.set(scope, index);
    }
    return index;
  }
}

/** The last string written in one place, and its index. */
class LastString {
  value: string | undefined = undefined;
  index = ABSENT;
}

interface AttributeKey {
  index: number;
  lastValue: LastString;
}

/** Reads spans back in the order BatchWriter wrote them. */
class BatchReader {
  readonly #numbers: Float64Array;
  #at = 0;
  readonly #strings: string[];
  readonly #resources: Resource[];
  readonly #scopes: SpanBatch['scopes'];

  constructor(batch: SpanBatch) {
    this.#numbers = batch.numbers;
    this.#strings = batch.strings;
    this.#resources = batch.resources.map(({ attributes, schemaUrl }) =>
      resourceFromAttributes(attributes, schemaUrl === undefined ? undefined : { schemaUrl }),
    );
    this.#scopes = batch.scopes;
  }

  spans(): ReadableSpan[] {
    const spans: ReadableSpan[] = [];
    while (this.#at < this.#numbers.length) spans.push(this.#span());
    return spans;
  }

  #span(): ReadableSpan {
    const name = this.#string();
    const kind = this.#number();
    const context = this.#context();
    const parentSpanContext = this.#number() === 1 ? this.#context() : undefined;
    const startTime = this.#time();
    const endTime = this.#time();
    const duration = this.#time();
    const code = this.#number();
    const message = this.#optionalString();
    const attributes = this.#attributes();
    const links = Array.from({ length: this.#number() }, (): Link => {
      const link: Link = { context: this.#context() };
      const linkAttributes = this.#optionalAttributes();
      const dropped = this.#optionalNumber();
      if (linkAttributes !== undefined) link.attributes = linkAttributes;
      if (dropped !== undefined) link.droppedAttributesCount = dropped;
      return link;
    });
    const events = Array.from({ length: this.#number() }, (): TimedEvent => {
      const event: TimedEvent = { name: this.#string(), time: this.#time() };
      const eventAttributes = this.#optionalAttributes();
      const dropped = this.#optionalNumber();
      if (eventAttributes !== undefined) event.attributes = eventAttributes;
      if (dropped !== undefined) event.droppedAttributesCount = dropped;
      return event;
    });
    return {
      name,
      kind,
      spanContext: () => context,
      parentSpanContext,
      startTime,
      endTime,
      duration,
      status: message === undefined ? { code } : { code, message },
      attributes,
      links,
      events,
      ended: true,
      droppedAttributesCount: this.#number(),
      droppedEventsCount: this.#number(),
      droppedLinksCount: this.#number(),
      resource: this.#resources[this.#number()]!,
      instrumentationScope: this.#scopes[this.#number()]!,
    };
  }

  #number(): number {
    return this.#numbers[this.#at++]!;
  }

  #optionalNumber(): number | undefined {
    const value = this.#number();
    return value === ABSENT ? undefined : value;
  }

  #string(): string {
    return this.#strings[this.#number()]!;
  }

  #optionalString(): string | undefined {
    const index = this.#number();
    return index === ABSENT ? undefined : this.#strings[index];
  }

  #time(): HrTime {
    return [this.#number(), this.#number()];
  }

  #context(): SpanContext {
    const context: SpanContext = {
      traceId: this.#string(),
      spanId: this.#string(),
      traceFlags: this.#number(),
    };
    const isRemote = this.#number();
    if (isRemote !== ABSENT) context.isRemote = isRemote === 1;
    const traceState = this.#optionalString();
    if (traceState !== undefined) context.traceState = new TraceState(traceState);
    return context;
  }

  #attributes(): Attributes {
    const attributes: Attributes = {};
    for (let count = this.#number(); count > 0; count--) {
      const key = this.#string();
      attributes[key] = this.#value() as AttributeValue | undefined;
    }
    return attributes;
  }

  #optionalAttributes(): Attributes | undefined {
    // An absent map is marked where a present one has its count.
    if (this.#numbers[this.#at] === ABSENT) {
      this.#at++;
      return undefined;
    }
    return this.#attributes();
  }

  #value(): AttributeValue | null | undefined {
    switch (this.#number()) {
      case Tag.String:
        return this.#string();
      case Tag.Number:
        return this.#number();
      case Tag.Boolean:
        return this.#number() === 1;
      case Tag.Array:
        return Array.from({ length: this.#number() }, () => this.#value()) as AttributeValue;
      case Tag.Null:
        return null;
      default:
        return undefined;
    }
  }
}
