import type { Dispatcher } from 'undici';
import { z } from 'zod';
import type { Hotkey, JsonValue } from '../bittensor/index.ts';
import { signSynapse } from '../bittensor/index.ts';
import type { SynapseProfile } from '../config/profiles.ts';
import { discardBody, parseJsonOrUndefined, readCappedText, streamCappedText } from './body.ts';
import { UpstreamError } from './errors.ts';
import { decodeImage } from './image-data.ts';
import { maxImagesAnswerBytes } from './openai-answers.ts';
import { chatToSynapseFields, embeddingsToSynapseFields, imagesToSynapseFields } from './synapse-fields.ts';
import type { CallOptions, CompleteAdapter, MinerTarget } from './types.ts';
import {
  type AnswerReading,
  exchangeWithUpstream,
  jsonAnswer,
  minerOrigin,
  postToUpstream,
  readJsonAnswer,
  type UpstreamPeer,
} from './upstream-exchange.ts';

export interface SynapseAdapterOptions {
  synapse: SynapseProfile;
  hotkey: Hotkey;
  /** The address the gateway reports as its own in `bt_header_dendrite_ip`. */
  dendriteIp: string;
  /** Kept-alive connections per axon (an undici Agent pools per origin). */
  dispatcher: Dispatcher;
}

// The axon's error body is `{"message": …}`; its status header says the same when the body is missing.
const axon: UpstreamPeer = {
  peer: 'axon',
  rejection(response, body) {
    const message = (parseJsonOrUndefined(body) as { message?: unknown } | null | undefined)?.message;
    if (typeof message === 'string') return message;
    const header = response.headers.bt_header_axon_status_message;
    return typeof header === 'string' ? header : undefined;
  },
  // Axons name themselves on every answer (bittensor/core/axon.py sets synapse.axon.hotkey).
  answeredBy(response) {
    const header = response.headers.bt_header_axon_hotkey;
    return typeof header === 'string' ? header : undefined;
  },
};

const vectors = z.array(z.array(z.number()));
const encodedImages = z.union([z.string(), z.array(z.string()).min(1)]);

/**
 * The dendrite: signed synapses over HTTP to an axon (bittensor/core/dendrite.py), for every task: chat
 * (streaming or not), embeddings (a batch of texts → a list of vectors) and images (a prompt → base64).
 */
export function createSynapseAdapter(options: SynapseAdapterOptions): CompleteAdapter {
  const { synapse, hotkey, dendriteIp, dispatcher } = options;
  const chatReading: AnswerReading = {
    ...axon,
    text: (response) =>
      synapse.streaming ? eventStreamText(response) : completionOf(response, synapse.outputField),
  };

  function signed(target: MinerTarget, fields: Record<string, JsonValue>, call: CallOptions) {
    const request = signSynapse({
      shape: synapse,
      fields,
      timeoutSeconds: Math.max(0.001, call.timeoutMs / 1000),
      axon: { ip: target.ip, port: target.port, hotkey: target.hotkey },
      dendrite: hotkey,
      dendriteIp,
    });
    return { origin: minerOrigin(target), hotkey: target.hotkey, ...request };
  }

  /** The whole synapse the axon sends back, and the output field the profile names in it. */
  async function outputOf(
    target: MinerTarget,
    fields: Record<string, JsonValue>,
    call: CallOptions,
    maxBytes?: number,
  ) {
    const accepted = await postToUpstream(dispatcher, signed(target, fields, call), call, axon);
    const parsed = await readJsonAnswer(accepted, maxBytes);
    return (parsed as Record<string, unknown> | null)?.[synapse.outputField];
  }

  return {
    protocol: 'synapse',
    chat: (target, request, call) =>
      exchangeWithUpstream(
        dispatcher,
        signed(target, chatToSynapseFields(synapse, request), call),
        call,
        chatReading,
      ),
    async embeddings(target, request, call) {
      const output = vectors.safeParse(
        await outputOf(target, embeddingsToSynapseFields(synapse, request), call),
      );
      if (!output.success)
        throw new UpstreamError(
          'upstream_invalid',
          `the synapse's ${synapse.outputField} is not a list of vectors`,
        );
      return { vectors: output.data };
    },
    async images(target, request, call) {
      const fields = imagesToSynapseFields(synapse, request);
      const output = encodedImages.safeParse(
        await outputOf(target, fields, call, maxImagesAnswerBytes(request.n)),
      );
      if (!output.success)
        throw new UpstreamError('upstream_invalid', `the synapse's ${synapse.outputField} holds no image`);
      const encoded = typeof output.data === 'string' ? [output.data] : output.data;
      return { images: encoded.map(decodeImage) };
    },
  };
}

/**
 * A streaming synapse's text. BTStreamingResponse is always `text/event-stream` (bittensor/core/stream.py):
 * an answer labelled otherwise is some other server's page, whatever text it holds.
 */
async function* eventStreamText(response: Dispatcher.ResponseData): AsyncGenerator<string> {
  const type = response.headers['content-type'];
  if (typeof type === 'string' && !type.startsWith('text/event-stream')) {
    discardBody(response.body);
    throw new UpstreamError(
      'upstream_invalid',
      `the axon answered a streaming synapse with ${type.slice(0, 64)}`,
    );
  }
  yield* streamCappedText(response.body);
}

// The non-streaming chat synapse comes back whole, with its output field filled in.
async function* completionOf(response: Dispatcher.ResponseData, outputField: string): AsyncGenerator<string> {
  const parsed = jsonAnswer(await readCappedText(response.body), 'axon');
  const output = (parsed as Record<string, unknown> | null)?.[outputField];
  if (typeof output !== 'string')
    throw new UpstreamError('upstream_invalid', `the synapse has no ${outputField} text`);
  yield output;
}
