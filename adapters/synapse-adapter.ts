import type { Dispatcher } from 'undici';
import type { Hotkey } from '../bittensor/index.ts';
import { signSynapse } from '../bittensor/index.ts';
import type { SynapseProfile } from '../config/profiles.ts';
import { parseJsonOrUndefined, readCappedText, streamCappedText } from './body.ts';
import { UpstreamError } from './errors.ts';
import { chatToSynapseFields } from './synapse-fields.ts';
import type { CallOptions, ChatAdapter, ChatRequest, MinerTarget } from './types.ts';
import { type AnswerReading, exchangeWithUpstream, minerOrigin } from './upstream-exchange.ts';

export interface SynapseAdapterOptions {
  synapse: SynapseProfile;
  hotkey: Hotkey;
  /** The address the gateway reports as its own in `bt_header_dendrite_ip`. */
  dendriteIp: string;
  /** Kept-alive connections per axon (an undici Agent pools per origin). */
  dispatcher: Dispatcher;
}

/** The dendrite: signed synapses over HTTP to an axon, streaming or not (bittensor/core/dendrite.py). */
export function createSynapseAdapter(options: SynapseAdapterOptions): ChatAdapter {
  const { synapse, hotkey, dendriteIp, dispatcher } = options;
  const reading: AnswerReading = {
    peer: 'axon',
    text: (response) =>
      synapse.streaming ? streamCappedText(response.body) : completionOf(response, synapse.outputField),
    rejection: axonMessage,
  };

  async function chat(
    target: MinerTarget,
    request: ChatRequest,
    call: CallOptions,
  ): Promise<AsyncIterable<string>> {
    const signed = signSynapse({
      shape: synapse,
      fields: chatToSynapseFields(synapse, request),
      timeoutSeconds: Math.max(0.001, call.timeoutMs / 1000),
      axon: { ip: target.ip, port: target.port, hotkey: target.hotkey },
      dendrite: hotkey,
      dendriteIp,
    });
    return exchangeWithUpstream(dispatcher, { origin: minerOrigin(target), ...signed }, call, reading);
  }

  return { protocol: 'synapse', chat };
}

// The non-streaming synapse comes back whole, with its output field filled in.
async function* completionOf(response: Dispatcher.ResponseData, outputField: string): AsyncGenerator<string> {
  const parsed = parseJsonOrUndefined(await readCappedText(response.body));
  if (parsed === undefined)
    throw new UpstreamError('upstream_invalid', 'the miner sent a body that is not JSON');
  const output = (parsed as Record<string, unknown> | null)?.[outputField];
  if (typeof output !== 'string')
    throw new UpstreamError('upstream_invalid', `the synapse has no ${outputField} text`);
  yield output;
}

// The axon's error body is `{"message": …}`; its status header says the same when the body is missing.
function axonMessage(response: Dispatcher.ResponseData, body: string): string | undefined {
  const message = (parseJsonOrUndefined(body) as { message?: unknown } | null | undefined)?.message;
  if (typeof message === 'string') return message;
  const header = response.headers.bt_header_axon_status_message;
  return typeof header === 'string' ? header : undefined;
}
