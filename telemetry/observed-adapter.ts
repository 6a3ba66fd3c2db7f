import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import type { CallOptions, MinerTarget } from '../adapters/index.ts';
import type { AttemptOutcomeLabel, GatewayMetrics } from './metrics.ts';
import type { MinerBucketOf } from './miner-buckets.ts';
import { currentRequest, type RequestTelemetry, type TimingStep } from './request-context.ts';
import * as attr from './span-attributes.ts';
import { gatewayTracer } from './tracing.ts';

/** The task calls an adapter may carry; each one that is present is observed. */
const TASKS = ['chat', 'embeddings', 'images'] as const;

type TaskCall = (target: MinerTarget, request: unknown, options: CallOptions) => Promise<unknown>;

export interface AttemptObserverDeps {
  /** Undefined when metrics are off: only spans and Server-Timing then. */
  metrics: GatewayMetrics | undefined;
  minerBucket: MinerBucketOf;
  /** Make a client span per call (and send its trace context upstream); off, no span is ever made. */
  tracing: boolean;
}

/**
 * Observes every upstream call at the adapter seam, so routing code carries no telemetry: each call is an
 * attempt of the request being served (found through its async context), timed from dispatch to first
 * chunk and to its end, counted by outcome, and, with tracing on, a client span whose context the HTTP
 * exchange sends upstream as `traceparent`. The router says which calls are hedges (`CallOptions.hedge`).
 */
export function createAttemptObserver(deps: AttemptObserverDeps) {
  const tracer = gatewayTracer();

  function begin(protocol: string, target: MinerTarget, hedge: boolean): AttemptWatch {
    const started = performance.now();
    const request = currentRequest();
    const number = request ? ++request.attempts : 1;
    if (request) request.firstDispatchMs ??= started - request.startedAt;
    if (hedge) deps.metrics?.hedged(target.netuid);
    const bucket = deps.minerBucket(target.netuid, target.uid);
    const traced = deps.tracing ? startSpan(request, protocol, target, number, hedge, bucket) : undefined;
    const span = traced?.span;
    const step: TimingStep | undefined = request && {
      name: `attempt-${number}`,
      startMs: started - request.startedAt,
      durMs: undefined,
      desc: `sn${target.netuid}/uid${target.uid}${hedge ? ' hedge' : ''}`,
    };
    if (step) request!.steps.push(step);
    let firstChunkMs: number | undefined;
    let ended = false;

    return {
      context: traced?.context,
      firstChunk() {
        if (firstChunkMs !== undefined) return;
        const now = performance.now();
        firstChunkMs = now - started;
        if (request) request.firstChunkMs ??= now - request.startedAt;
        if (step) {
          // What Server-Timing says of it: a stream's headers go out before the answer ends.
          step.durMs = firstChunkMs;
          step.desc += ' answered';
        }
        span?.setAttribute(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, firstChunkMs / 1000);
      },
      end(outcome, error) {
        if (ended) return;
        ended = true;
        const errorCode = outcome === 'failed' ? errorCodeOf(error) : undefined;
        if (step && firstChunkMs === undefined) {
          step.durMs = performance.now() - started;
          step.desc += ` ${outcome}${errorCode ? ` ${errorCode}` : ''}`;
        }
        deps.metrics?.observeAttempt({
          netuid: target.netuid,
          protocol,
          minerBucket: bucket,
          outcome,
          errorCode,
          firstChunkSeconds: firstChunkMs === undefined ? undefined : firstChunkMs / 1000,
        });
        if (!span) return;
        span.setAttribute(attr.TAOGATE_OUTCOME, outcome);
        if (errorCode) {
          span.setAttribute(ATTR_ERROR_TYPE, errorCode);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error | undefined)?.message });
        }
        span.end();
      },
    };
  }

  /** The attempt's span, and the context its call carries upstream (the span's, for its `traceparent`). */
  function startSpan(
    request: RequestTelemetry | undefined,
    protocol: string,
    target: MinerTarget,
    number: number,
    hedge: boolean,
    bucket: string,
  ): { span: Span; context: Context } {
    const operation = request?.operation ?? 'chat';
    const model = (request?.netuid === target.netuid ? request.model : undefined) ?? `sn${target.netuid}`;
    // Facts of the whole request (its cache lookup, its model's usage) are on the server span above.
    // At the start, what the GenAI conventions list for sampling decisions; the rest is set on the started
    // span, which costs the SDK a third as much (it validates and copies start attributes twice more).
    const attributes: Attributes = {
      [attr.GEN_AI_OPERATION_NAME]: operation,
      [attr.GEN_AI_PROVIDER_NAME]: attr.BITTENSOR,
      [attr.GEN_AI_REQUEST_MODEL]: model,
      [ATTR_SERVER_ADDRESS]: target.ip,
      [ATTR_SERVER_PORT]: target.port,
    };
    // Under the request's span; outside any request (none today) under whatever is active.
    const parent = request?.traceContext ?? context.active();
    const span = tracer.startSpan(`${operation} ${model}`, { kind: SpanKind.CLIENT, attributes }, parent);
    span.setAttributes({
      [attr.TAOGATE_NETUID]: target.netuid,
      [attr.TAOGATE_MINER_UID]: target.uid,
      [attr.TAOGATE_MINER_HOTKEY]: target.hotkey,
      [attr.TAOGATE_MINER_BUCKET]: bucket,
      [attr.TAOGATE_PROTOCOL]: protocol,
      [attr.TAOGATE_ATTEMPT]: number,
      [attr.TAOGATE_HEDGE]: hedge,
    });
    // Set only on fan-out calls, the rare case, rather than `false` on every other one.
    if (request?.fanout) span.setAttribute(attr.TAOGATE_FANOUT, true);
    return { span, context: trace.setSpan(parent, span) };
  }

  function observeCall(protocol: string, call: TaskCall): TaskCall {
    return async (target, request, options) => {
      const watch = begin(protocol, target, options.hedge === true);
      let answer: unknown;
      try {
        answer = await call(
          target,
          request,
          watch.context ? { ...options, traceContext: watch.context } : options,
        );
      } catch (error) {
        watch.end(options.signal.aborted ? 'cancelled' : 'failed', error);
        throw error;
      }
      if (isAsyncIterable(answer)) return new WatchedStream(answer, watch, options.signal);
      watch.firstChunk();
      watch.end('answered', undefined);
      return answer;
    };
  }

  /** The same adapter, each of its task calls observed. */
  return function observeAdapter<A extends { readonly protocol: string }>(adapter: A): A {
    const observed: Record<string, unknown> = { ...adapter };
    for (const task of TASKS) {
      const call = (adapter as Record<string, unknown>)[task];
      if (typeof call === 'function') observed[task] = observeCall(adapter.protocol, call.bind(adapter));
    }
    return observed as A;
  };
}

export type AdapterObserver = ReturnType<typeof createAttemptObserver>;

interface AttemptWatch {
  /** The context the call carries: its span, so the exchange can propagate it. */
  readonly context: Context | undefined;
  firstChunk(): void;
  end(outcome: AttemptOutcomeLabel, error: unknown): void;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * The answer stream, passed through chunk by chunk: its first chunk, its end, its failure, or the reader
 * stopping early (a lost race or a client gone) end the attempt. Per chunk that is one `then` with handlers
 * bound once per stream. A class, as an object literal with a `[Symbol.asyncIterator]` method is built on
 * V8's slow path (~0.15 µs a stream in a loop, about 1 µs in the gateway's profile); an instance is not.
 */
class WatchedStream<T> implements AsyncIterable<T>, AsyncIterator<T> {
  readonly #stream: AsyncIterable<T>;
  readonly #watch: AttemptWatch;
  readonly #signal: AbortSignal;
  #inner: AsyncIterator<T> | undefined;

  constructor(stream: AsyncIterable<T>, watch: AttemptWatch, signal: AbortSignal) {
    this.#stream = stream;
    this.#watch = watch;
    this.#signal = signal;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    this.#inner = this.#stream[Symbol.asyncIterator]();
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#inner!.next().then(this.#passOn, this.#fail);
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.#watch.end('cancelled', undefined);
    return (await this.#inner?.return?.(value)) ?? { done: true, value: undefined };
  }

  readonly #passOn = (result: IteratorResult<T>): IteratorResult<T> => {
    if (result.done) this.#watch.end('answered', undefined);
    else this.#watch.firstChunk();
    return result;
  };

  readonly #fail = (error: unknown): never => {
    this.#watch.end(this.#signal.aborted ? 'cancelled' : 'failed', error);
    throw error;
  };
}

/** Upstream error codes are a fixed list; anything else is counted as one kind, keeping labels bounded. */
function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^upstream_[a-z_]+$/.test(code) ? code : 'other';
}

/** `adapterFor` with each adapter it hands out observed, each wrapped once. */
export function observedAdapters<P, A extends { readonly protocol: string }>(
  adapterFor: (profile: P) => A,
  observe: AdapterObserver,
): (profile: P) => A {
  const observed = new WeakMap<A, A>();
  return (profile) => {
    const adapter = adapterFor(profile);
    let wrapped = observed.get(adapter);
    if (!wrapped) {
      wrapped = observe(adapter);
      observed.set(adapter, wrapped);
    }
    return wrapped;
  };
}
