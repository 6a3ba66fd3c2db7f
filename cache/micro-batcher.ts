export interface MicroBatcherOptions<In, Out> {
  /** How long the first item of a batch waits for company. */
  windowMs: number;
  /** A batch goes as soon as its items weigh this much (e.g. inputs per upstream call). */
  maxWeight: number;
  /** An item's weight; 1 by default. */
  weightOf?: (item: In) => number;
  /** Sends one batch upstream; resolves with one result per item, in order. */
  run(items: In[], signal: AbortSignal): Promise<Out[]>;
  /** Told the size of each batch sent, for stats. */
  onBatch?: (items: number, weight: number) => void;
}

interface Waiting<In, Out> {
  item: In;
  weight: number;
  resolve(out: Out): void;
  reject(error: unknown): void;
  /** Undefined once the item has gone upstream. */
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * Gathers items that arrive within a short window into one upstream call and hands each caller its own
 * result. A caller that gives up before its batch leaves is dropped from it; a batch whose callers have
 * all given up is cancelled.
 */
export function createMicroBatcher<In, Out>(options: MicroBatcherOptions<In, Out>) {
  const weightOf = options.weightOf ?? (() => 1);
  let pending: Waiting<In, Out>[] = [];
  let pendingWeight = 0;
  let timer: NodeJS.Timeout | undefined;

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    pendingWeight = 0;
    if (batch.length === 0) return;
    void send(batch);
  }

  async function send(batch: Waiting<In, Out>[]): Promise<void> {
    const controller = new AbortController();
    let live = batch.length;
    const detach: (() => void)[] = [];
    for (const waiting of batch) {
      const signal = waiting.signal;
      waiting.signal = undefined;
      if (!signal) continue;
      signal.removeEventListener('abort', waiting.onAbort);
      const onAbort = () => {
        waiting.reject(signal.reason);
        if (--live === 0) controller.abort(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      detach.push(() => signal.removeEventListener('abort', onAbort));
    }
    options.onBatch?.(
      batch.length,
      batch.reduce((sum, waiting) => sum + waiting.weight, 0),
    );
    try {
      const results = await options.run(
        batch.map((waiting) => waiting.item),
        controller.signal,
      );
      if (results.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} came back with ${results.length} results`);
      }
      for (const [index, waiting] of batch.entries()) waiting.resolve(results[index]!);
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      for (const remove of detach) remove();
    }
  }

  return {
    submit(item: In, signal?: AbortSignal): Promise<Out> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const weight = weightOf(item);
      // An item that would push the batch past its limit starts the next one.
      if (pending.length > 0 && pendingWeight + weight > options.maxWeight) flush();
      return new Promise<Out>((resolve, reject) => {
        const waiting: Waiting<In, Out> = {
          item,
          weight,
          resolve,
          reject,
          signal,
          onAbort: () => {
            const index = pending.indexOf(waiting);
            if (index < 0) return;
            pending.splice(index, 1);
            pendingWeight -= weight;
            reject(signal?.reason);
          },
        };
        signal?.addEventListener('abort', waiting.onAbort, { once: true });
        pending.push(waiting);
        pendingWeight += weight;
        if (pendingWeight >= options.maxWeight) flush();
        else if (!timer) timer = setTimeout(flush, options.windowMs);
      });
    },
    /** Sends whatever is waiting now (at shutdown). */
    flush,
  };
}

export type MicroBatcher<In, Out> = ReturnType<typeof createMicroBatcher<In, Out>>;
