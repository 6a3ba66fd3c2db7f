import { stat } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import { FEATURE_COUNT } from './features.ts';
import { INPUT_NAME, OUTPUT_NAME } from './onnx-export.ts';

type OnnxRuntime = typeof import('onnxruntime-node');

export interface RerankerOptions {
  modelPath: string;
  /** How often the file's mtime and size are checked for a new model. */
  pollMs?: number;
  /** Scores older than this are refreshed even if no outcome came in: counts decay with time. */
  maxScoreAgeMs?: number;
  log?: (level: 'info' | 'warn', message: string, error?: unknown) => void;
}

export interface Reranker {
  /**
   * The latest probabilities of a good answer for `pool`'s miners, in pool order, or undefined while none
   * were computed (no model, first run pending, or inference failed): the caller then uses blended weights.
   * When `version` moved on since the last run, or the scores aged, one batched run is started with the
   * rows `features()` builds; at most one runs per pool at a time.
   */
  scores(pool: object, version: number, features: () => Float32Array): Float32Array | undefined;
  /** Resolves once the runs started so far have finished (for tests and benchmarks). */
  settled(): Promise<void>;
  /**
   * Resolves once the model file was checked (loaded, or found missing or broken). The file is first
   * checked when scores are first asked for, or here if that has not happened yet.
   */
  loaded(): Promise<void>;
  close(): Promise<void>;
}

interface PoolScores {
  scores: Float32Array | undefined;
  version: number;
  scoredAt: number;
  running: boolean;
}

/**
 * Runs the ONNX reranker with onnxruntime-node. `session.run` is asynchronous while choosing a miner is
 * not (and must not wait: that would add a thread hop to every request), so inference runs beside the
 * request path: a request uses the scores of the last finished run over its pool and, if the miners'
 * stats changed since, starts the next one. Scores lag one run behind the outcomes, which move them
 * far slower than a run takes (~15 µs for 256 candidates).
 *
 * The model file is polled (inode, mtime and size) rather than watched: fs.watch misses atomic renames on some
 * filesystems and a stat every few seconds costs nothing. A file that does not load, or whose interface
 * does not match FEATURE_SPEC, is logged and the previous model kept.
 *
 * onnxruntime-node (~22 MB of RSS) is imported, and the file first checked, only once scores are asked
 * for: a gateway whose subnets each have one candidate (OpenAI-compatible profiles) never ranks and never
 * loads it. Until the model is loaded the first requests use blended weights, as they did while it loaded
 * at start.
 */
export function createReranker(options: RerankerOptions): Reranker {
  const log = options.log ?? (() => {});
  const maxScoreAgeMs = options.maxScoreAgeMs ?? 1_000;
  const byPool = new WeakMap<object, PoolScores>();
  const running = new Set<Promise<void>>();
  let runtime: OnnxRuntime | undefined;
  let session: InferenceSession | undefined;
  let fileStamp = '';
  let loading: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function startLoading(): Promise<void> {
    if (loading) return loading;
    loading = checkModelFile();
    timer = setInterval(() => {
      loading = loading!.then(checkModelFile);
    }, options.pollMs ?? 5_000);
    timer.unref();
    return loading;
  }

  async function checkModelFile(): Promise<void> {
    let stamp: string;
    try {
      const info = await stat(options.modelPath);
      stamp = `${info.ino}/${info.mtimeMs}/${info.size}`;
    } catch {
      if (fileStamp !== 'missing' && !session) log('info', `no reranker model at ${options.modelPath}`);
      fileStamp = 'missing';
      return;
    }
    if (stamp === fileStamp) return;
    fileStamp = stamp;
    try {
      runtime ??= await import('onnxruntime-node');
      const next = await runtime.InferenceSession.create(options.modelPath);
      await checkInterface(runtime, next);
      const previous = session;
      session = next;
      log('info', `reranker model loaded from ${options.modelPath}`);
      // Runs already started on the old session finish first; then its native memory can go.
      if (previous) void Promise.allSettled(running).then(() => previous.release());
    } catch (error) {
      log('warn', `reranker model at ${options.modelPath} did not load; keeping the previous one`, error);
    }
  }

  function scores(pool: object, version: number, features: () => Float32Array): Float32Array | undefined {
    if (!session) {
      void startLoading();
      return undefined;
    }
    let entry = byPool.get(pool);
    if (!entry) {
      entry = { scores: undefined, version: -1, scoredAt: 0, running: false };
      byPool.set(pool, entry);
    }
    const now = performance.now();
    if (!entry.running && (entry.version !== version || now - entry.scoredAt > maxScoreAgeMs)) {
      startRun(runtime!, session, entry, version, features());
    }
    return entry.scores;
  }

  function startRun(
    { Tensor }: OnnxRuntime,
    model: InferenceSession,
    entry: PoolScores,
    version: number,
    rows: Float32Array,
  ): void {
    entry.running = true;
    const run = model
      .run({ [INPUT_NAME]: new Tensor('float32', rows, [rows.length / FEATURE_COUNT, FEATURE_COUNT]) })
      .then((output) => {
        entry.scores = output[OUTPUT_NAME]!.data as Float32Array;
        entry.version = version;
        entry.scoredAt = performance.now();
      })
      .catch((error: unknown) => {
        // Blended weights until a run succeeds again; retried at the next change, not in a loop.
        entry.scores = undefined;
        entry.version = version;
        entry.scoredAt = performance.now();
        log('warn', 'reranker inference failed; using blended weights', error);
      })
      .finally(() => {
        entry.running = false;
        running.delete(run);
      });
    running.add(run);
  }

  return {
    scores,
    async settled() {
      await Promise.allSettled(running);
    },
    loaded: startLoading,
    async close() {
      clearInterval(timer);
      await loading;
      await Promise.allSettled(running);
      await session?.release();
      session = undefined;
    },
  };
}

/** A model for another feature layout would score garbage without failing: refuse it at load. */
async function checkInterface({ Tensor }: OnnxRuntime, session: InferenceSession): Promise<void> {
  if (!session.inputNames.includes(INPUT_NAME) || !session.outputNames.includes(OUTPUT_NAME)) {
    throw new Error(`expected input "${INPUT_NAME}" and output "${OUTPUT_NAME}"`);
  }
  const probe = await session.run({
    [INPUT_NAME]: new Tensor('float32', new Float32Array(FEATURE_COUNT), [1, FEATURE_COUNT]),
  });
  if (probe[OUTPUT_NAME]?.data.length !== 1) throw new Error('expected one score per row');
}
