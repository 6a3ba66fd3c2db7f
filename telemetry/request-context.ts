import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Span } from '@opentelemetry/api';

/** What a cache said about a request. */
export type CacheResult = 'hit' | 'miss' | 'bypass';

/** One step of a request for Server-Timing: an upstream attempt, a cache lookup, a wait. */
export interface TimingStep {
  name: string;
  /** Milliseconds since the request arrived. */
  startMs: number;
  /** Undefined while the step is still going on. */
  durMs: number | undefined;
  desc: string;
}

/**
 * What the gateway learns about one request while serving it, for its span, its Server-Timing header, its
 * log lines and the per-subnet metrics. Filled in by the router's attempt observer and a few notes from
 * the routes; read once the response is sent.
 */
export interface RequestTelemetry {
  readonly id: string;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** The request's span; undefined when tracing is off. */
  readonly span: Span | undefined;
  /**
   * The parent of its upstream calls' spans: its span, plus the client's baggage. Handed to them from
   * here rather than made the active OpenTelemetry context of everything the request awaits.
   */
  readonly traceContext: Context | undefined;
  /** GenAI operation name of the route (`chat`, `text_completion`, `embeddings`, …); undefined for others. */
  readonly operation: string | undefined;
  /** The subnet and model asked for (set once the model is known to the catalogue). */
  netuid: number | undefined;
  model: string | undefined;
  cache: CacheResult | undefined;
  /** Time spent waiting in a gateway queue, when one reported it. */
  queueMs: number | undefined;
  /** When the first upstream call went out, and when the answer's first chunk arrived (ms since arrival). */
  firstDispatchMs: number | undefined;
  firstChunkMs: number | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  /** Upstream calls made so far. */
  attempts: number;
  /** Asked of several miners at once on purpose (best-of-k fan-out). */
  fanout: boolean;
  readonly steps: TimingStep[];
}

const storage = new AsyncLocalStorage<RequestTelemetry>();

/** A request as it arrives: nothing learnt of it yet. */
export function newRequestTelemetry(
  arrival: Pick<RequestTelemetry, 'id' | 'startedAt' | 'span' | 'traceContext' | 'operation'>,
): RequestTelemetry {
  return {
    ...arrival,
    netuid: undefined,
    model: undefined,
    cache: undefined,
    queueMs: undefined,
    firstDispatchMs: undefined,
    firstChunkMs: undefined,
    inputTokens: undefined,
    outputTokens: undefined,
    attempts: 0,
    fanout: false,
    steps: [],
  };
}

/** Runs `work` with `request` as the current request of everything it awaits. */
export function withRequest<T>(request: RequestTelemetry, work: () => T): T {
  return storage.run(request, work);
}

/** The request being served in this async context; undefined outside one (start-up, background refresh). */
export function currentRequest(): RequestTelemetry | undefined {
  return storage.getStore();
}

/** The route resolved the model: metrics and the span are labelled with it and its subnet. */
export function noteRequestedModel(model: string, netuid: number): void {
  const request = storage.getStore();
  if (!request) return;
  request.model = model;
  request.netuid = netuid;
}

/** The route asks several miners at once (best-of-k fan-out). */
export function noteFanout(): void {
  const request = storage.getStore();
  if (request) request.fanout = true;
}

/** Token counts of the answer (estimated where subnets report none); embeddings have input tokens only. */
export function noteUsage(usage: { prompt_tokens: number; completion_tokens?: number }): void {
  const request = storage.getStore();
  if (!request) return;
  request.inputTokens = usage.prompt_tokens;
  request.outputTokens = usage.completion_tokens;
}

/** Pino mixin: every log line written while serving a request carries its id. */
export function requestLogFields(): { req_id?: string } {
  const request = storage.getStore();
  return request ? { req_id: request.id } : {};
}
