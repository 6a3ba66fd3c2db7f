import { Worker } from 'node:worker_threads';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type SpanBatch, toSpanBatch } from './span-records.ts';

/** What the exporter asks of its worker; each ask gets an id, which the worker's reply carries. */
type ExportWorkerAsk = { kind: 'export'; batch: SpanBatch } | { kind: 'flush' | 'shutdown' };
export type ExportWorkerRequest = ExportWorkerAsk & { id: number };

export type ExportWorkerReply =
  | { kind: 'exported'; id: number; ok: boolean; error: string | undefined }
  | { kind: 'done'; id: number; error?: string };

/**
 * The OTLP span exporter, run in a worker thread. Encoding a batch as OTLP protobuf walks every string of
 * every span in JS (~1/5 of tracing's cost per request in the telemetry bench) and stalls the event loop
 * for milliseconds at each full batch of 512; here the gateway's thread only writes the finished spans
 * as numbers and strings (span-records.ts) and hands them across. The worker is unref'd: it never keeps
 * the process alive, and shutdown() flushes it first.
 */
export class WorkerSpanExporter implements SpanExporter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, (reply: ExportWorkerReply) => void>();
  #nextId = 0;
  #failure: Error | undefined;

  constructor() {
    this.#worker = new Worker(new URL('./span-export-worker.ts', import.meta.url));
    this.#worker.unref();
    this.#worker.on('message', (reply: ExportWorkerReply) => {
      const settle = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      settle?.(reply);
    });
    const fail = (error: Error) => {
      this.#failure = error;
      for (const settle of this.#pending.values()) settle({ kind: 'done', id: -1, error: error.message });
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`the span export worker exited (${code})`)));
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const { batch, transfer } = toSpanBatch(spans);
    this.#ask({ kind: 'export', batch }, transfer).then((reply) => {
      const error = 'error' in reply && reply.error !== undefined ? new Error(reply.error) : undefined;
      const ok = reply.kind === 'exported' && reply.ok;
      resultCallback(ok ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error });
    });
  }

  async forceFlush(): Promise<void> {
    await this.#ask({ kind: 'flush' });
  }

  async shutdown(): Promise<void> {
    await this.#ask({ kind: 'shutdown' });
    await this.#worker.terminate();
  }

  #ask(request: ExportWorkerAsk, transfer: ArrayBuffer[] = []): Promise<ExportWorkerReply> {
    if (this.#failure) return Promise.resolve({ kind: 'done', id: -1, error: this.#failure.message });
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#worker.postMessage({ ...request, id }, transfer);
    });
  }
}
