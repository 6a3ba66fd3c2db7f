import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/** What a handler writes a Server-Sent Events answer with. */
export interface EventWriter {
  /** The client went away, or the gateway cut the stream at shutdown: nothing sent from now on arrives. */
  readonly aborted: boolean;
  /**
   * Queues one event; `data` is one line (JSON.stringify never writes a raw line break). A promise to wait
   * for only when the client is behind (more than FLUSH_AT_CHARS waiting).
   */
  send(data: string): Promise<void> | undefined;
}

/** What the drain middleware needs of a stream to end it at shutdown without wrapping its body. */
export interface CuttableStream {
  /** Ends the stream now: what was queued, then `lastEvent`; the writer sees `aborted` from then on. */
  cut(lastEvent: Uint8Array): void;
  /** `callback` runs once the handler has finished writing and the stream is closed (or the client left). */
  onSettled(callback: () => void): void;
}

/** Past this many characters waiting, the writer waits for the client before taking more. */
const FLUSH_AT_CHARS = 64 * 1024;

const encoder = new TextEncoder();
const cuttable = new WeakMap<Response, CuttableStream>();

/** The stream behind an answer from `eventStream`, while it is the response as sent. */
export function cuttableStreamOf(response: Response): CuttableStream | undefined {
  return cuttable.get(response);
}

/**
 * An SSE answer that `produce` writes: one ReadableStream between the handler and @hono/node-server, which
 * writes its chunks to the socket, where hono's streamSSE and a drain wrapper around it made three
 * (a TransformStream, hono's reader over it, the drain's stream), each with its promises per chunk. Events
 * sent before the handler next waits for I/O go out as one chunk (an upstream read usually carries several
 * tokens, and a socket write per event was a third of the gateway's CPU on streams); chunks hold whole
 * events.
 *
 * The headers leave in the same write as the first events: @hono/node-server sends a chunked response's
 * headers on their own before it reads the body, one more write syscall (and packet) per answer.
 */
export function eventStream(c: Context, produce: (events: EventWriter) => Promise<void>): Response {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  // `open`: bytes still reach the client. `aborted`: the writer should stop.
  let open = true;
  let aborted = false;
  let pending = '';
  let scheduled = false;
  let demand: (() => void) | undefined;
  let settled = false;
  let onSettled: (() => void) | undefined;
  const headersHeld = holdHeaders(c);

  const flush = (): void => {
    scheduled = false;
    if (!open || pending === '') return;
    controller.enqueue(encoder.encode(pending));
    pending = '';
    headersHeld?.releaseAfterWrite();
  };
  const stop = (): void => {
    open = false;
    aborted = true;
    demand?.();
    headersHeld?.release();
  };
  const settle = (): void => {
    settled = true;
    onSettled?.();
    headersHeld?.releaseAfterWrite();
  };
  const body = new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController;
    },
    pull() {
      demand?.();
      demand = undefined;
    },
    cancel: stop,
  });

  const writer: EventWriter = {
    get aborted() {
      return aborted;
    },
    send(data) {
      if (!open) return undefined;
      pending += `data: ${data}\n\n`;
      if (!scheduled) {
        scheduled = true;
        // A tick queued from promise code runs once no promise reaction is left, before the event loop
        // turns: every event the handler can produce without waiting for I/O goes out in this one chunk,
        // and none waits for the check phase behind other connections' I/O (setImmediate did).
        process.nextTick(flush);
      }
      if (pending.length < FLUSH_AT_CHARS) return undefined;
      flush();
      if ((controller.desiredSize ?? 1) > 0) return undefined;
      return new Promise<void>((resolve) => {
        demand = resolve;
      });
    },
  };
  produce(writer).then(
    () => {
      if (open) {
        flush();
        controller.close();
        open = false;
      }
      settle();
    },
    (error: unknown) => {
      // Whatever went wrong, the client must not take a cut-off stream for a whole one.
      if (open) controller.error(error);
      open = false;
      settle();
    },
  );

  // The headers hono's streamSSE sets.
  c.header('transfer-encoding', 'chunked');
  c.header('content-type', 'text/event-stream');
  c.header('cache-control', 'no-cache');
  c.header('connection', 'keep-alive');
  const response = c.newResponse(body);
  cuttable.set(response, {
    cut(lastEvent) {
      if (!open) return;
      flush();
      controller.enqueue(lastEvent);
      controller.close();
      stop();
    },
    onSettled(callback) {
      if (settled) callback();
      else onSettled = callback;
    },
  });
  return response;
}

/**
 * Holds back what is written to the client's socket (cork) until the first events are written after the
 * headers, so both go out in one write. Only under node:http (`app.request` in tests has no socket).
 *
 * `releaseAfterWrite` lets go once no promise reaction is left: the events just enqueued reach the socket
 * in @hono/node-server's promise reactions (its read of the body, then `write`), and a tick queued from a
 * microtask runs after all of them; ticks queued earlier would run first. A stream that ends in the same
 * reactions is ended by `end()`, which uncorks by itself, with the headers, events and last chunk in one
 * write. Releasing twice, or after Node's own uncork, is harmless: an uncorked socket ignores `uncork()`.
 * Both writers send their first event at once; should one wait for I/O first, the headers still leave at
 * the end of this turn of the event loop (setImmediate) instead of waiting for it.
 */
function holdHeaders(c: Context): { releaseAfterWrite(): void; release(): void } | undefined {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!(outgoing instanceof ServerResponse) || !outgoing.socket || outgoing.headersSent) return undefined;
  const socket: Socket = outgoing.socket;
  socket.cork();
  let held = true;
  let releasing = false;
  const release = () => {
    if (!held) return;
    held = false;
    socket.uncork();
  };
  setImmediate(release);
  return {
    release,
    releaseAfterWrite() {
      if (!held || releasing) return;
      releasing = true;
      queueMicrotask(() => process.nextTick(release));
    },
  };
}
