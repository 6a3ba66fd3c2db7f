import type { Context, MiddlewareHandler } from 'hono';
import { httpError } from './errors.ts';
import { type CuttableStream, cuttableStreamOf } from './event-stream.ts';

/** The reason requests still in flight are cut: the drain timeout passed while the gateway shut down. */
export class GatewayShuttingDown extends Error {
  readonly code = 'server_shutting_down';
  constructor() {
    super('The gateway is shutting down; retry the request');
    this.name = 'GatewayShuttingDown';
  }
}

/**
 * Graceful shutdown as the requests see it: `begin()` when the gateway stops accepting (readiness turns
 * 503), `cutNow()` when the drain timeout passes: handlers' `cut` signal aborts their upstream calls,
 * streams still open get an OpenAI-shaped error event and end, unanswered requests get a 503 to retry.
 */
export interface Drain {
  readonly draining: boolean;
  readonly cut: AbortSignal;
  /** Requests being handled plus streams still being written. */
  readonly inFlight: number;
  begin(): void;
  cutNow(): void;
  /** Resolves once nothing is in flight, or after `timeoutMs`, whichever is first. */
  settled(timeoutMs: number): Promise<void>;
  /** A request's signal for its upstream calls: aborted when its client goes away, or when cut. */
  signalFor(c: Context): AbortSignal;
  /** Counts requests and streams, and ends them as above once cut. Mount it on the API routes. */
  middleware: MiddlewareHandler;
}

const shuttingDown = httpError(
  503,
  new GatewayShuttingDown().message,
  'server_error',
  'server_shutting_down',
);
const SHUTTING_DOWN_EVENT = new TextEncoder().encode(`data: ${JSON.stringify(shuttingDown.body)}\n\n`);

export function createDrain(): Drain {
  const controller = new AbortController();
  let draining = false;
  let inFlight = 0;
  const idle: (() => void)[] = [];
  const started = () => {
    inFlight++;
  };
  const requestEnded = () => {
    inFlight--;
    if (inFlight === 0) for (const resolve of idle.splice(0)) resolve();
  };
  // Per request the middleware counts, its signal once asked for: one AbortController aborted by the
  // client's signal or by cutNow, where AbortSignal.any made a composite per request that follows both
  // sources and is let go only through weak references (~4% of the gateway's CPU on JSON answers).
  const requests = new WeakMap<Context, { signal?: AbortController }>();
  const signalled = new Set<AbortController>();

  const middleware: MiddlewareHandler = async (c, next) => {
    started();
    const request: { signal?: AbortController } = {};
    requests.set(c, request);
    const ended = () => {
      if (request.signal) signalled.delete(request.signal);
      requestEnded();
    };
    let streaming = false;
    try {
      await next();
      // A handler cut mid-route answers with whatever its aborted call threw; tell the client to retry.
      if (controller.signal.aborted && c.res.status >= 500 && !isEventStream(c.res)) {
        c.res = c.json(shuttingDown.body, 503, { 'retry-after': '1' });
        // Hono carries the replaced answer's headers over; its length is not this body's.
        c.res.headers.delete('content-length');
      }
      // The content type first: reading `body` of a JSON answer would turn @hono/node-server's ready-made
      // string response into a web stream, and cost every JSON answer a stream and extra socket writes.
      if (!isEventStream(c.res)) return;
      // Streams written through eventStream are ended in place; others (wrapped by billing) get a wrapper.
      const cuttable = cuttableStreamOf(c.res);
      if (cuttable) {
        streaming = true;
        cutOnAbort(cuttable, controller.signal, ended);
        return;
      }
      const body = c.res.body;
      if (body) {
        streaming = true;
        c.res = new Response(endStreamOnCut(body, controller.signal, ended), c.res);
      }
    } finally {
      if (!streaming) ended();
    }
  };

  return {
    get draining() {
      return draining;
    },
    cut: controller.signal,
    get inFlight() {
      return inFlight;
    },
    begin() {
      draining = true;
    },
    cutNow() {
      draining = true;
      if (controller.signal.aborted) return;
      controller.abort(new GatewayShuttingDown());
      for (const signal of signalled) signal.abort(controller.signal.reason);
    },
    signalFor(c) {
      const request = requests.get(c);
      // A request the middleware does not count (a route outside it) gets the composite after all.
      if (!request) return AbortSignal.any([c.req.raw.signal, controller.signal]);
      if (request.signal) return request.signal.signal;
      const signal = new AbortController();
      request.signal = signal;
      const client = c.req.raw.signal;
      if (controller.signal.aborted) signal.abort(controller.signal.reason);
      else if (client.aborted) signal.abort(client.reason);
      else {
        signalled.add(signal);
        client.addEventListener('abort', () => signal.abort(client.reason), { once: true });
      }
      return signal.signal;
    },
    async settled(timeoutMs) {
      if (inFlight === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        idle.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    },
    middleware,
  };
}

function isEventStream(response: Response): boolean {
  return response.headers.get('content-type')?.startsWith('text/event-stream') === true;
}

/** Ends the stream with the shutting-down event if `cut` aborts first; `onEnd` once it has settled. */
function cutOnAbort(stream: CuttableStream, cut: AbortSignal, onEnd: () => void): void {
  const onCut = () => stream.cut(SHUTTING_DOWN_EVENT);
  if (cut.aborted) onCut();
  else cut.addEventListener('abort', onCut, { once: true });
  stream.onSettled(() => {
    cut.removeEventListener('abort', onCut);
    onEnd();
  });
}

/**
 * Passes an SSE body through until `cut` aborts; then the client gets one error event (the way OpenAI
 * reports a failure once headers are sent) and the end of the stream, and the handler's stream is cancelled.
 * The handler writes whole events per chunk, so the error never lands inside another event.
 */
function endStreamOnCut(
  body: ReadableStream<Uint8Array>,
  cut: AbortSignal,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  // `open`: bytes still flow to the client. The stream stays in flight until the handler's side has
  // finished too: cancelling it is where a charge is settled (committed or released) on the ledger.
  let open = true;
  let inFlight = true;
  let onCut = () => {};
  const ended = () => {
    if (!inFlight) return;
    inFlight = false;
    cut.removeEventListener('abort', onCut);
    onEnd();
  };
  const cancelHandler = (reason: unknown) =>
    reader
      .cancel(reason)
      .catch(() => {})
      .finally(ended);
  return new ReadableStream<Uint8Array>({
    start(stream) {
      onCut = () => {
        if (!open) return;
        open = false;
        stream.enqueue(SHUTTING_DOWN_EVENT);
        stream.close();
        void cancelHandler(cut.reason);
      };
      if (cut.aborted) onCut();
      else cut.addEventListener('abort', onCut, { once: true });
    },
    async pull(stream) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (open) stream.error(error);
        open = false;
        return ended();
      }
      if (!open) return;
      if (chunk.done) {
        open = false;
        stream.close();
        ended();
      } else stream.enqueue(chunk.value);
    },
    cancel(reason) {
      open = false;
      return cancelHandler(reason);
    },
  });
}
