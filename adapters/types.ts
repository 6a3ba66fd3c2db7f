/** A miner the router chose, with an address the SSRF guard already accepted. */
export interface MinerTarget {
  netuid: number;
  uid: number;
  hotkey: string;
  ip: string;
  port: number;
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
}

export interface CallOptions {
  signal: AbortSignal;
  /** Time left for this attempt; sent to the miner as the synapse timeout. */
  timeoutMs: number;
}

/** One wire protocol. Resolves once the miner accepted the request; the text then streams as it arrives. */
export interface ChatAdapter {
  readonly protocol: string;
  chat(target: MinerTarget, request: ChatRequest, options: CallOptions): Promise<AsyncIterable<string>>;
}
