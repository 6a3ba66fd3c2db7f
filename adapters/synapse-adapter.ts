import type { Dispatcher } from 'undici';
import type { Hotkey } from '../bittensor/index.ts';
import { signSynapse } from '../bittensor/index.ts';
import type { SynapseProfile } from '../config/profiles.ts';
import { readCappedText, streamCappedText } from './body.ts';
import { toUpstreamError, UpstreamError } from './errors.ts';
import { chatToSynapseFields } from './synapse-fields.ts';
import type { CallOptions, ChatAdapter, ChatRequest, MinerTarget } from './types.ts';

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
  const shape = synapse;

  async function chat(
    target: MinerTarget,
    request: ChatRequest,
    call: CallOptions,
  ): Promise<AsyncIterable<string>> {
    const deadline = AbortSignal.timeout(Math.max(1, Math.ceil(call.timeoutMs)));
    const signal = AbortSignal.any([call.signal, deadline]);
    const signed = signSynapse({
      shape,
      fields: chatToSynapseFields(synapse, request),
      timeoutSeconds: Math.max(0.001, call.timeoutMs / 1000),
      axon: { ip: target.ip, port: target.port, hotkey: target.hotkey },
      dendrite: hotkey,
      dendriteIp,
    });
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin: `http://${target.ip.includes(':') ? `[${target.ip}]` : target.ip}:${target.port}`,
        path: signed.path,
        method: 'POST',
        headers: signed.headers,
        body: signed.body,
        signal,
      });
    } catch (error) {
      throw toUpstreamError(error, deadline);
    }
    if (response.statusCode !== 200) {
      const message = await readAxonMessage(response).catch(() => undefined);
      throw new UpstreamError(
        'upstream_rejected',
        `axon answered ${response.statusCode}${message ? `: ${message}` : ''}`,
        response.statusCode,
      );
    }
    const text = synapse.streaming
      ? streamCappedText(response.body)
      : completionOf(response, synapse.outputField);
    return guardStream(text, deadline);
  }

  return { protocol: 'synapse', chat };
}

// The non-streaming synapse comes back whole, with its output field filled in.
async function* completionOf(response: Dispatcher.ResponseData, outputField: string): AsyncGenerator<string> {
  const body = await readCappedText(response.body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new UpstreamError('upstream_invalid', 'the miner sent a body that is not JSON');
  }
  const output = (parsed as Record<string, unknown> | null)?.[outputField];
  if (typeof output !== 'string')
    throw new UpstreamError('upstream_invalid', `the synapse has no ${outputField} text`);
  yield output;
}

/** Maps mid-stream failures to UpstreamError and treats an empty answer as invalid. */
async function* guardStream(text: AsyncIterable<string>, deadline: AbortSignal): AsyncGenerator<string> {
  let produced = false;
  try {
    for await (const chunk of text) {
      produced = true;
      yield chunk;
    }
  } catch (error) {
    throw toUpstreamError(error, deadline);
  }
  if (!produced) throw new UpstreamError('upstream_invalid', 'the miner sent an empty answer');
}

async function readAxonMessage(response: Dispatcher.ResponseData): Promise<string | undefined> {
  const header = response.headers.bt_header_axon_status_message;
  const body = await readCappedText(response.body);
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof message === 'string') return message.slice(0, 300);
  } catch {}
  return typeof header === 'string' ? header.slice(0, 300) : undefined;
}
