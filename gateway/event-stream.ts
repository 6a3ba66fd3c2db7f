import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { UnderlyingSource } from 'node:stream/web';
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
/** A property of the response rather than a WeakMap entry: one less table for every streamed answer. */
const CUTTABLE = Symbol('cuttable stream');
type StreamedResponse = Response & { [CUTTABLE]?: CuttableStream };

/** The stream behind an answer from `eventStream`, while it is the response as sent. */
export function cuttableStreamOf(response: Response): CuttableStream | undefined {
  return (response as StreamedResponse)[CUTTABLE];
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
  const stream = new EventStream(heldSocketOf(c));
  const body = new ReadableStream<Uint8Array>(stream);
  stream.run(produce);
  // The headers hono's streamSSE sets.
  c.header('transfer-encoding', 'chunked');
  c.header('content-type', 'text/event-stream');
  c.header('cache-control', 'no-cache');
  c.header('connection', 'keep-alive');
  const response: StreamedResponse = c.newResponse(body);
  response[CUTTABLE] = stream;
  return response;
}

/**
 * One answer's events on their way out: the producer's writer, the drain's handle on it, and the
 * ReadableStream's source (`start`, `pull`, `cancel`). A class, so that each answer costs one object with
 * its methods shared, not a dozen closures and an object literal with a getter (which V8 builds slowly).
 */
class EventStream implements EventWriter, CuttableStream, UnderlyingSource<Uint8Array> {
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Bytes still reach the client. */
  #open = true;
  /** The writer should stop. */
  #aborted = false;
  #pending = '';
  #scheduled = false;
  #demand: (() => void) | undefined;
  #settled = false;
  #onSettled: (() => void) | undefined;
  /** The client's socket while it is corked, holding the headers back until the first events join them. */
  #heldSocket: Socket | undefined;
  #releasing = false;

  constructor(socket: Socket | undefined) {
    if (!socket) return;
    socket.cork();
    this.#heldSocket = socket;
    // Both writers send their first event at once; should one wait for I/O first, the headers still leave
    // at the end of this turn of the event loop instead of waiting for it.
    setImmediate(EventStream.#releaseHeaders, this);
  }

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
  }

  pull(): void {
    this.#demand?.();
    this.#demand = undefined;
  }

  cancel(): void {
    this.#stop();
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  send(data: string): Promise<void> | undefined {
    if (!this.#open) return undefined;
    this.#pending += `data: ${data}\n\n`;
    if (!this.#scheduled) {
      this.#scheduled = true;
      // A tick queued from promise code runs once no promise reaction is left, before the event loop
      // turns: every event the handler can produce without waiting for I/O goes out in this one chunk,
      // and none waits for the check phase behind other connections' I/O (setImmediate did).
      process.nextTick(EventStream.#flushScheduled, this);
    }
    if (this.#pending.length < FLUSH_AT_CHARS) return undefined;
    this.#flush();
    if ((this.#controller.desiredSize ?? 1) > 0) return undefined;
    return new Promise<void>((resolve) => {
      this.#demand = resolve;
    });
  }

  cut(lastEvent: Uint8Array): void {
    if (!this.#open) return;
    this.#flush();
    this.#controller.enqueue(lastEvent);
    this.#controller.close();
    this.#stop();
  }

  onSettled(callback: () => void): void {
    if (this.#settled) callback();
    else this.#onSettled = callback;
  }

  /** Runs the producer, and ends the stream as it ends. */
  run(produce: (events: EventWriter) => Promise<void>): void {
    produce(this).then(
      () => {
        if (this.#open) {
          this.#flush();
          this.#controller.close();
          this.#open = false;
        }
        this.#settle();
      },
      (error: unknown) => {
        // Whatever went wrong, the client must not take a cut-off stream for a whole one.
        if (this.#open) this.#controller.error(error);
        this.#open = false;
        this.#settle();
      },
    );
  }

  static #flushScheduled(stream: EventStream): void {
    stream.#scheduled = false;
    stream.#flush();
  }

  #flush(): void {
    if (!this.#open || this.#pending === '') return;
    this.#controller.enqueue(encoder.encode(this.#pending));
    this.#pending = '';
    this.#releaseHeadersAfterWrite();
  }

  #stop(): void {
    this.#open = false;
    this.#aborted = true;
    this.#demand?.();
    EventStream.#releaseHeaders(this);
  }

  #settle(): void {
    this.#settled = true;
    this.#onSettled?.();
    this.#releaseHeadersAfterWrite();
  }

  /**
   * Uncorks once no promise reaction is left: the events just enqueued reach the socket in
   * @hono/node-server's promise reactions (its read of the body, then `write`), and a tick queued from a
   * microtask runs after all of them; ticks queued earlier would run first. A stream that ends in the same
   * reactions is ended by `end()`, which uncorks by itself, with the headers, events and last chunk in one
   * write. Releasing after Node's own uncork is harmless: an uncorked socket ignores `uncork()`.
   */
  #releaseHeadersAfterWrite(): void {
    if (!this.#heldSocket || this.#releasing) return;
    this.#releasing = true;
    queueMicrotask(() => process.nextTick(EventStream.#releaseHeaders, this));
  }

  static #releaseHeaders(stream: EventStream): void {
    const socket = stream.#heldSocket;
    stream.#heldSocket = undefined;
    socket?.uncork();
  }
}

/** The client's socket under node:http, to hold the headers on (`app.request` in tests has none). */
function heldSocketOf(c: Context): Socket | undefined {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!(outgoing instanceof ServerResponse) || outgoing.headersSent) return undefined;
  return outgoing.socket ?? undefined;
}
