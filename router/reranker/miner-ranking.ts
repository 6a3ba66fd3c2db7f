import type { Logger } from 'pino';
import type { MinerRanking } from './index.ts';
import { createReranker } from './reranker.ts';
import { createTraceRecorder } from './trace-recorder.ts';

export interface MinerRankingSettings {
  /** Undefined disables the reranker. */
  modelPath: string | undefined;
  /** Undefined records no traces. */
  tracesPath: string | undefined;
}

/** The reranker and trace recorder a gateway's settings ask for, with one close for both. */
export function createMinerRanking(
  settings: MinerRankingSettings,
  logger: Logger,
): MinerRanking & { close(): Promise<void> } {
  const reranker = settings.modelPath
    ? createReranker({
        modelPath: settings.modelPath,
        log: (level, message, error) => logger[level]({ err: error }, message),
      })
    : undefined;
  const traces = settings.tracesPath
    ? createTraceRecorder({
        path: settings.tracesPath,
        onError: (error) => logger.warn({ err: error }, 'writing reranker traces failed'),
      })
    : undefined;
  return {
    reranker,
    traces,
    async close() {
      await Promise.all([reranker?.close(), traces?.close()]);
    },
  };
}
