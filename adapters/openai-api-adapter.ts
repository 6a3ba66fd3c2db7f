import type { Dispatcher } from 'undici';
import { readCappedText } from './body.ts';
import { completionText, embeddingVectors, generatedImages, maxImagesAnswerBytes } from './openai-answers.ts';
import { openAiChatBody, openAiErrorMessage } from './openai-chat.ts';
import { openAiStreamText } from './openai-stream.ts';
import type { CallOptions, CompleteAdapter, MinerTarget } from './types.ts';
import {
  type AnswerReading,
  exchangeWithUpstream,
  jsonAnswer,
  postToUpstream,
  readJsonAnswer,
  type UpstreamPeer,
} from './upstream-exchange.ts';

/** Where a target's OpenAI API lives: `http(s)://host:port` and the path up to the version (`/v1`). */
export interface ApiLocation {
  origin: string;
  prefix: string;
}

/** What sets one OpenAI-compatible protocol apart from another: where it sends, and how it signs in. */
export interface OpenAiApiOptions {
  protocol: string;
  /** How errors name the other side: "miner answered 401". */
  peer: string;
  dispatcher: Dispatcher;
  locate(target: MinerTarget): ApiLocation;
  /** Headers that authenticate this exact body to this target (a signature, a bearer key). */
  authenticate(body: string, target: MinerTarget, call: CallOptions): Record<string, string>;
  /** The `model` sent upstream for one of the profile's models (undefined: the profile's first). */
  upstreamModel(model: string | undefined): string;
  /** What of a rejection may be repeated to clients; by default the server's own error message. */
  rejection?: UpstreamPeer['rejection'];
}

/**
 * The OpenAI API as an upstream protocol, whoever runs it: chat (streamed as SSE, or whole), embeddings and
 * image generations. Epistula-signed miners and bearer-key operators differ only in `OpenAiApiOptions`.
 */
export function createOpenAiApiAdapter(options: OpenAiApiOptions): CompleteAdapter {
  const { dispatcher, peer } = options;
  const upstream: UpstreamPeer = {
    peer,
    rejection: options.rejection ?? ((_, body) => openAiErrorMessage(body)),
  };
  const streamed: AnswerReading = {
    ...upstream,
    text: (response) => openAiStreamText(response.body),
  };
  const whole: AnswerReading = {
    ...upstream,
    async *text(response) {
      const text = completionText(jsonAnswer(await readCappedText(response.body), peer));
      if (text) yield text;
    },
  };

  function post(target: MinerTarget, path: string, body: string, call: CallOptions, accept: string) {
    const { origin, prefix } = options.locate(target);
    const headers = {
      'content-type': 'application/json',
      accept,
      ...options.authenticate(body, target, call),
    };
    return { origin, path: prefix + path, headers, body };
  }

  return {
    protocol: options.protocol,
    chat(target, request, call) {
      const stream = call.whole !== true;
      const body = openAiChatBody(options.upstreamModel(request.model), request, stream);
      const sent = post(
        target,
        '/chat/completions',
        body,
        call,
        stream ? 'text/event-stream' : 'application/json',
      );
      return exchangeWithUpstream(dispatcher, sent, call, stream ? streamed : whole);
    },
    async embeddings(target, request, call) {
      const body = JSON.stringify({
        model: options.upstreamModel(request.model),
        input: request.inputs,
        dimensions: request.dimensions,
        encoding_format: 'float',
      });
      const accepted = await postToUpstream(
        dispatcher,
        post(target, '/embeddings', body, call, 'application/json'),
        call,
        upstream,
      );
      return embeddingVectors(await readJsonAnswer(accepted));
    },
    async images(target, request, call) {
      const body = JSON.stringify({
        model: options.upstreamModel(request.model),
        prompt: request.prompt,
        n: request.n,
        size: `${request.width}x${request.height}`,
        response_format: 'b64_json',
      });
      const sent = post(target, '/images/generations', body, call, 'application/json');
      const accepted = await postToUpstream(dispatcher, sent, call, upstream);
      return generatedImages(await readJsonAnswer(accepted, maxImagesAnswerBytes(request.n)));
    },
  };
}
