import type { Dispatcher } from 'undici';
import { type Hotkey, signEpistula } from '../bittensor/index.ts';
import { createOpenAiApiAdapter } from './openai-api-adapter.ts';
import type { CompleteAdapter } from './types.ts';
import { minerOrigin } from './upstream-exchange.ts';

export interface EpistulaAdapterOptions {
  /** The model name sent upstream (the profile's `openai.model`). */
  model: string;
  hotkey: Hotkey;
  /** Kept-alive connections per miner (an undici Agent pools per origin). */
  dispatcher: Dispatcher;
}

/**
 * Miners that are OpenAI-compatible servers behind Epistula-signed HTTP (SN1 since 2025): every request
 * signed for the miner's own hotkey, which it requires.
 */
export function createEpistulaAdapter(options: EpistulaAdapterOptions): CompleteAdapter {
  const { model, hotkey, dispatcher } = options;
  return createOpenAiApiAdapter({
    protocol: 'epistula',
    peer: 'miner',
    dispatcher,
    locate: (target) => ({ origin: minerOrigin(target), prefix: '/v1' }),
    authenticate: (body, target, call) => ({
      // SN1's validator tells miners its budget in whole seconds (prompting shared/epistula.py 86).
      'x-client-timeout': String(Math.max(1, Math.floor(call.timeoutMs / 1000))),
      ...signEpistula(body, hotkey, target.hotkey),
    }),
    upstreamModel: () => model,
  });
}
