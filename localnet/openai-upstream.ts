import { timingSafeEqual } from 'node:crypto';
import type { MinerBehaviour } from './behaviour.ts';
import { type Miner, startMinerServer } from './miner-server.ts';
import { errorJson } from './openai-answer.ts';
import { createOpenAiHandler } from './openai-server.ts';

export interface OpenAiUpstreamOptions {
  /** The bearer key it requires. */
  apiKey: string;
  model: string;
  /** Its embeddings' length when the request names none. */
  dimensions?: number;
  /** Named in its chat answers like a miner: "sn{netuid} miner {uid} heard: …". */
  netuid: number;
  uid: number;
  behaviour?: Partial<MinerBehaviour>;
  seed?: number;
}

/**
 * An OpenAI-compatible API as subnet operators run them (Chutes, Nineteen, Targon): a bearer key, the
 * OpenAI routes, OpenAI's error body. For testing the OpenAI-compatible adapter against a real HTTP peer.
 */
export function startOpenAiUpstream(options: OpenAiUpstreamOptions): Promise<Miner> {
  const expected = Buffer.from(`Bearer ${options.apiKey}`);
  const handler = createOpenAiHandler({
    netuid: options.netuid,
    uid: options.uid,
    model: options.model,
    dimensions: options.dimensions,
    seed: options.seed,
    failure: {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } }),
    },
    authorize(request) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
      return { status: 401, body: errorJson('Incorrect API key provided', 'invalid_api_key') };
    },
  });
  return startMinerServer(handler, options.behaviour);
}
