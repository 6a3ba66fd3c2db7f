import { appendFile } from 'node:fs/promises';
import { FEATURE_COUNT } from './features.ts';
import { type Trace, traceLine } from './train.ts';

export interface TraceRecorderOptions {
  /** Attempts kept in memory; older ones are overwritten. */
  capacity?: number;
  /** Append JSONL here; unset keeps traces in memory only. */
  path?: string;
  /** How often the file gets what was recorded since the last flush. */
  flushMs?: number;
  onError?: (error: unknown) => void;
}

export interface TraceRecorder {
  /** Copies one attempt's feature row (FEATURE_COUNT values from `offset`) and its outcome. */
  record(features: Float32Array, offset: number, outcome: 0 | 1): void;
  /** The attempts held in memory, oldest first. */
  recent(): Trace[];
  /** Appends what the file has not seen yet. */
  flush(): Promise<void>;
  /** Stops the timer and flushes once more. */
  close(): Promise<void>;
}

/**
 * Per-attempt training data for the reranker. `record` only copies a dozen floats into a preallocated
 * ring, since it runs as every upstream call ends; turning rows into JSON and writing them happens on a
 * timer. If the file falls behind by more than the ring holds, the oldest unwritten rows are lost rather
 * than letting memory grow: traces are a sample for training, not an audit log.
 */
export function createTraceRecorder(options: TraceRecorderOptions = {}): TraceRecorder {
  const capacity = options.capacity ?? 65_536;
  const features = new Float32Array(capacity * FEATURE_COUNT);
  const outcomes = new Uint8Array(capacity);
  let written = 0;
  let flushed = 0;
  let flushing: Promise<void> = Promise.resolve();
  const path = options.path;
  const timer = path ? setInterval(() => void flush(), options.flushMs ?? 2_000) : undefined;
  // A timer that kept the process alive would hold up shutdown of a gateway (or a test) for nothing.
  timer?.unref();

  function record(row: Float32Array, offset: number, outcome: 0 | 1): void {
    const slot = written % capacity;
    features.set(row.subarray(offset, offset + FEATURE_COUNT), slot * FEATURE_COUNT);
    outcomes[slot] = outcome;
    written++;
  }

  function linesSince(from: number): string {
    let text = '';
    for (let n = Math.max(from, written - capacity); n < written; n++) {
      const slot = n % capacity;
      text += traceLine(features.subarray(slot * FEATURE_COUNT, (slot + 1) * FEATURE_COUNT), outcomeAt(slot));
    }
    return text;
  }

  function outcomeAt(slot: number): 0 | 1 {
    return outcomes[slot] === 1 ? 1 : 0;
  }

  function flush(): Promise<void> {
    // Chained, so two flushes never interleave their writes or write a row twice.
    flushing = flushing.then(async () => {
      if (!path || flushed === written) return;
      const until = written;
      const text = linesSince(flushed);
      flushed = until;
      try {
        await appendFile(path, text);
      } catch (error) {
        options.onError?.(error);
      }
    });
    return flushing;
  }

  return {
    record,
    recent() {
      const traces: Trace[] = [];
      for (let n = Math.max(0, written - capacity); n < written; n++) {
        const slot = n % capacity;
        const row = Array.from(features.subarray(slot * FEATURE_COUNT, (slot + 1) * FEATURE_COUNT));
        traces.push({ features: row, outcome: outcomeAt(slot) });
      }
      return traces;
    },
    flush,
    async close() {
      if (timer) clearInterval(timer);
      await flush();
    },
  };
}
