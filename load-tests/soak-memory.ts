import { readFileSync } from 'node:fs';

/** One reading of the gateway's memory, taken right after a full garbage collection. */
export interface MemorySample {
  atSeconds: number;
  rssMb: number;
  /** V8 heap still in use after the collection. */
  heapMb: number;
}

/** A process's resident set size from /proc, in MiB; undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

export interface MemoryTrend {
  /** Least-squares slope after warm-up, MiB per minute. */
  slopeMbPerMin: number;
  /** Median of the second half of the warm run minus median of the first, MiB. */
  growthMb: number;
}

/**
 * How a measure moved once warm (the first fifth of the run, JIT and pools filling, is left out). Samples
 * follow a full collection, so the GC's sawtooth is gone and what is left growing is held memory.
 */
export function trendOf(points: readonly { atSeconds: number; mb: number }[]): MemoryTrend {
  const warm = points.slice(Math.max(1, Math.floor(points.length / 5)));
  const n = warm.length;
  const meanX = warm.reduce((sum, p) => sum + p.atSeconds, 0) / n;
  const meanY = warm.reduce((sum, p) => sum + p.mb, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of warm) {
    covariance += (p.atSeconds - meanX) * (p.mb - meanY);
    variance += (p.atSeconds - meanX) ** 2;
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const first = warm.slice(0, Math.floor(n / 2)).map((p) => p.mb);
  const second = warm.slice(Math.floor(n / 2)).map((p) => p.mb);
  return {
    slopeMbPerMin: (variance > 0 ? covariance / variance : 0) * 60,
    growthMb: median(second) - median(first),
  };
}

/** The gateway's V8 inspector, to collect garbage before a sample: a leak then shows as growth, not noise. */
export interface HeapProbe {
  /** Runs a full collection and returns the heap left in use, MiB. */
  collectedHeapMb(): Promise<number>;
  close(): void;
}

export async function connectHeapProbe(inspectorUrl: string): Promise<HeapProbe> {
  const { WebSocket } = await import('ws');
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id === undefined) return;
    pending.get(message.id)?.resolve(message.result);
    pending.delete(message.id);
  });
  // A gateway that died takes its inspector with it: calls waiting on it fail instead of hanging the soak.
  socket.on('close', () => {
    for (const { reject } of pending.values()) reject(new Error('the inspector closed'));
    pending.clear();
  });
  const call = (method: string) =>
    new Promise<unknown>((resolve, reject) => {
      if (socket.readyState !== socket.OPEN) return reject(new Error('the inspector is closed'));
      const id = nextId++;
      // A process that died with a debugger attached waits for it to leave, answering nothing.
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method} got no answer`));
      }, 10_000);
      pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject,
      });
      socket.send(JSON.stringify({ id, method }));
    });
  return {
    async collectedHeapMb() {
      await call('HeapProfiler.collectGarbage');
      const usage = (await call('Runtime.getHeapUsage')) as { usedSize: number };
      return usage.usedSize / 1024 / 1024;
    },
    close: () => socket.close(),
  };
}
