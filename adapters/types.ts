import type { Context } from '@opentelemetry/api';
/** A miner the router chose, with an address the SSRF guard already accepted. */
export interface MinerTarget {
  netuid: number;
  uid: number;
  hotkey: string;
  ip: string;
  port: number;
  /**
   * For upstreams a profile names by URL rather than by axon (OpenAI-compatible operators): scheme, host,
   * port and path prefix, e.g. `https://api.example.com/v1`. Unset for chain miners.
   */
  baseUrl?: string;
}

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** A validated chat request, in the gateway's own terms (already OpenAI's, minus transport details). */
export interface ChatRequest {
  messages: ChatMessage[];
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  seed?: number;
  /** The profile's model the client asked for (without `sn{netuid}/`), for upstreams serving several. */
  model?: string;
}

/** A batch of texts to embed: one upstream call carries at most the profile's `maxBatchInputs`. */
export interface EmbeddingsRequest {
  model?: string;
  inputs: string[];
  /** Requested vector length, only where the profile says the subnet honours it. */
  dimensions?: number;
}

export interface EmbeddingsAnswer {
  /** One vector per input, in the inputs' order. */
  vectors: number[][];
  /** Input tokens as the upstream counted them, when it says. */
  promptTokens?: number;
}

export interface ImagesRequest {
  model?: string;
  prompt: string;
  n: number;
  width: number;
  height: number;
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface GeneratedImage {
  bytes: Buffer;
  format: ImageFormat;
}

export interface ImagesAnswer {
  images: GeneratedImage[];
}

/** What each OpenAI task sends to a miner, and what comes back. */
export interface TaskRequests {
  chat: ChatRequest;
  embeddings: EmbeddingsRequest;
  images: ImagesRequest;
}

export interface TaskAnswers {
  /** Resolves once the miner accepted the request; the text then streams as it arrives. */
  chat: AsyncIterable<string>;
  embeddings: EmbeddingsAnswer;
  images: ImagesAnswer;
}

export type Task = keyof TaskRequests;

export interface CallOptions {
  signal: AbortSignal;
  /** Time left for this attempt; sent to the miner as the synapse timeout. */
  timeoutMs: number;
  /** The client reads the answer whole, not as it streams: upstreams that can answer whole are asked so. */
  whole?: boolean;
  /** The router sent this call as a hedge of a slow one: for telemetry, protocols ignore it. */
  hedge?: boolean;
  /** The attempt's trace context (its span), sent upstream as `traceparent`; undefined when not traced. */
  traceContext?: Context;
}

/** One call of one task to one miner. */
export type TaskCall<T extends Task> = (
  target: MinerTarget,
  request: TaskRequests[T],
  options: CallOptions,
) => Promise<TaskAnswers[T]>;

/** The calls a wire protocol makes, named by task; a protocol carries the tasks its subnets serve. */
export type TaskCalls = { readonly [T in Task]?: TaskCall<T> };

/** One wire protocol. */
export type Adapter = TaskCalls & { readonly protocol: string };

/** A protocol that carries every task (each subnet's profile says which one it serves). */
export type CompleteAdapter = Required<TaskCalls> & { readonly protocol: string };

/** A protocol that carries chat. */
export type ChatAdapter = Adapter & { readonly chat: TaskCall<'chat'> };

/** The adapter's call for `task`, typed for it; undefined when the protocol does not carry that task. */
export function taskCallOf<T extends Task>(calls: TaskCalls, task: T): TaskCall<T> | undefined {
  return calls[task];
}
