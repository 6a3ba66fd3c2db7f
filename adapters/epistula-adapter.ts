import type { Dispatcher } from 'undici';
import { type Hotkey, signEpistula } from '../bittensor/index.ts';
import { streamCappedText } from './body.ts';
import { OPENAI_CHAT_PATH, openAiChatBody, openAiErrorMessage } from './openai-chat.ts';
import { openAiStreamText } from './openai-stream.ts';
import type { CallOptions, ChatAdapter, ChatRequest, MinerTarget } from './types.ts';
import { type AnswerReading, exchangeWithUpstream, minerOrigin } from './upstream-exchange.ts';

export interface EpistulaAdapterOptions {
  /** The model name sent upstream (the profile's `openai.model`). */
  model: string;
  hotkey: Hotkey;
  /** Kept-alive connections per miner (an undici Agent pools per origin). */
  dispatcher: Dispatcher;
}

const reading: AnswerReading = {
  peer: 'miner',
  text: (response) => openAiStreamText(streamCappedText(response.body)),
  rejection: (_, body) => openAiErrorMessage(body),
};

/**
 * Miners that are OpenAI-compatible servers behind Epistula-signed HTTP (SN1 since 2025): a streamed chat
 * completion, signed for the miner's own hotkey, which it requires.
 */
export function createEpistulaAdapter(options: EpistulaAdapterOptions): ChatAdapter {
  const { model, hotkey, dispatcher } = options;

  async function chat(
    target: MinerTarget,
    request: ChatRequest,
    call: CallOptions,
  ): Promise<AsyncIterable<string>> {
    const body = openAiChatBody(model, request);
    const headers = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      // SN1's validator tells miners its budget in whole seconds (prompting shared/epistula.py 86).
      'x-client-timeout': String(Math.max(1, Math.floor(call.timeoutMs / 1000))),
      ...signEpistula(body, hotkey, target.hotkey),
    };
    const origin = minerOrigin(target);
    return exchangeWithUpstream(dispatcher, { origin, path: OPENAI_CHAT_PATH, headers, body }, call, reading);
  }

  return { protocol: 'epistula', chat };
}
