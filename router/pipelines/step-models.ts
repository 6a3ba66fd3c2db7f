import type { ChatRequest } from '../../adapters/index.ts';
import type { CachePolicy } from './definition.ts';

/** One answered call of a step's model. */
export interface StepCall {
  /** The model that answered: the one asked for, or a subnet fallback that stood in for it. */
  servedBy: string;
  /** The miner that answered (`sn1/uid3`); undefined when the cache did. */
  miner: string | undefined;
  attempts: number;
  hedged: boolean;
  cached: boolean;
  /** The answer; the first chunk has arrived (or it is cached). */
  text: AsyncIterable<string>;
}

export interface StepCallOptions {
  signal: AbortSignal;
  /** What is left of the step's time. */
  deadlineMs: number;
  cache: CachePolicy;
  /**
   * Nobody reads the answer as it streams: the router may take it whole before choosing it, so a miner
   * failing mid-answer is failed over like one failing before it.
   */
  whole: boolean;
}

/** One answered embeddings call: the vector of the step's one text. */
export interface StepEmbedding {
  servedBy: string;
  miner: string | undefined;
  attempts: number;
  cached: boolean;
  vector: number[];
}

/**
 * How steps reach models: the gateway gives the pipeline engine the same router (and cache) every other
 * request goes through, so steps share its warm connections, hedging, breakers and fallbacks.
 */
export interface StepModels {
  chat(model: string, request: ChatRequest, options: StepCallOptions): Promise<StepCall>;
  embed(model: string, text: string, options: StepCallOptions): Promise<StepEmbedding>;
}
