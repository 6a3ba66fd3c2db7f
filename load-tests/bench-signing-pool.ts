import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * A candidate measured by bench-signing.ts: sr25519 signatures made on worker threads (each with its own
 * copy of the hotkey, signing with the gateway's own `Hotkey.sign`), so the event loop does not wait on them.
 */
export interface SigningPool {
  /** The same `0x` hex signature `Hotkey.sign` gives, made on a worker. */
  sign(message: string): Promise<string>;
  close(): Promise<void>;
}

interface Pending {
  resolve(signature: string): void;
  reject(error: Error): void;
}

interface Lane {
  worker: Worker;
  /** Per batch sent, in order: a worker answers batches in the order it gets them. */
  inFlight: Pending[][];
}

/**
 * Spreads signatures over `threads` workers. Messages asked for within one turn of the event loop go to a
 * worker as one batch: a postMessage round trip costs about as much as a third of a signature, so at load
 * batching is what makes the threads pay.
 */
export function createSigningPool(
  secret: string,
  threads = Math.max(1, availableParallelism() - 1),
): SigningPool {
  const lanes: Lane[] = Array.from({ length: threads }, () => {
    const worker = new Worker(new URL('./bench-signing-worker.ts', import.meta.url), {
      workerData: { secret },
    });
    worker.unref();
    const lane: Lane = { worker, inFlight: [] };
    worker.on('message', (signatures: string[]) => {
      const batch = lane.inFlight.shift() ?? [];
      batch.forEach((pending, i) => {
        pending.resolve(signatures[i]!);
      });
    });
    worker.on('error', (error) => {
      for (const batch of lane.inFlight.splice(0)) for (const pending of batch) pending.reject(error);
    });
    return lane;
  });
  let queued: { message: string; pending: Pending }[] = [];
  let flushScheduled = false;

  function flush(): void {
    flushScheduled = false;
    const work = queued;
    queued = [];
    // Even shares, each to the lane with the least waiting, so one slow batch does not hold the rest.
    const share = Math.ceil(work.length / lanes.length);
    for (let start = 0; start < work.length; start += share) {
      const part = work.slice(start, start + share);
      const lane = lanes.reduce((a, b) => (b.inFlight.length < a.inFlight.length ? b : a));
      lane.inFlight.push(part.map((item) => item.pending));
      lane.worker.postMessage(part.map((item) => item.message));
    }
  }

  return {
    sign(message) {
      return new Promise<string>((resolve, reject) => {
        queued.push({ message, pending: { resolve, reject } });
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },
    async close() {
      await Promise.all(lanes.map((lane) => lane.worker.terminate()));
    },
  };
}
