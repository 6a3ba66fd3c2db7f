import type { ServerResponse } from 'node:http';
import { AxonStatus, NonceWindow, nowNs, synapseBodyHash } from '../bittensor/index.ts';
import type { JsonValue } from '../bittensor/python-str.ts';
import type { SubnetTask, SynapseProfile } from '../config/profiles.ts';
import { type AnswerWire, createFaultStage, writeStaged } from './behaviour.ts';
import {
  jsonOf,
  type Miner,
  type MinerHandler,
  type MinerIdentity,
  startMinerServer,
} from './miner-server.ts';
import { type SynapseServing, spacedJson, synapseOutput } from './synapse-answers.ts';

export interface MinerOptions extends MinerIdentity {
  synapse: SynapseProfile;
  /** What it answers; chat unless said otherwise. */
  task?: SubnetTask;
  /** Embeddings: the vectors' length when the synapse names none. */
  dimensions?: number;
}

/**
 * A localnet miner: a real HTTP axon that follows bittensor/core/axon.py's middleware order
 * (preprocess → blacklist → verify → priority → body integrity → forward), with its statuses and error body.
 */
export function startMiner(options: MinerOptions): Promise<Miner> {
  const stageFault = createFaultStage(options.seed ?? options.netuid * 1000 + options.uid);
  const nonces = new NonceWindow();
  const serving: SynapseServing = {
    netuid: options.netuid,
    uid: options.uid,
    synapse: options.synapse,
    task: options.task ?? 'chat',
    dimensions: options.dimensions ?? 256,
  };

  const serve: MinerHandler = async (request, rawBody, response, behaviour) => {
    const servedKey = behaviour.wrongHotkey ? options.rogueHotkey : options.hotkey;
    const name = (request.url ?? '/').slice(1).split('?')[0] ?? '';
    const headers = request.headers as Record<string, string | undefined>;
    if (name !== options.synapse.name && name !== 'Synapse') {
      return reject(response, AxonStatus.unknownSynapse, `Synapse name '${name}' not found`);
    }
    const caller = headers.bt_header_dendrite_hotkey ?? '';
    if (!options.isAllowedCaller(caller)) {
      return reject(
        response,
        AxonStatus.blacklisted,
        `Forbidden. Key ${caller} is not a registered validator`,
      );
    }
    // Stricter than axon.py 975, which skips the check when the signature header is absent.
    const verified = nonces.verify(headers, servedKey.ss58, nowNs());
    if (!verified.ok)
      return reject(response, AxonStatus.notVerified, `Not Verified with error: ${verified.message}`);
    if (name === 'Synapse') return sendJson(response, { name: 'Synapse' });

    const synapse = parseSynapse(rawBody);
    if (
      !synapse ||
      synapseBodyHash(synapse, options.synapse.requiredHashFields) !== headers.computed_body_hash
    ) {
      return reject(response, AxonStatus.internalError, 'Internal Server Error');
    }
    const output = synapseOutput(serving, synapse);
    if (output === undefined) return reject(response, AxonStatus.internalError, 'Internal Server Error');

    const outcome = await stageFault(behaviour);
    // Text goes out as words inside the output string; vectors and images as JSON written word by word.
    const answer = typeof output === 'string' && serving.task === 'chat' ? output : spacedJson(output);
    await writeStaged(outcome, response, answerWire(synapse), answer, behaviour);
  };

  /**
   * Streaming synapses are BTStreamingResponse (bittensor/core/stream.py 85-93): status 200,
   * text/event-stream, raw UTF-8 chunks. Others come back whole, as the synapse with its output filled in.
   */
  function answerWire(synapse: Record<string, JsonValue>): AnswerWire {
    const failure = {
      headers: { 'content-type': 'application/json', ...statusHeaders(500, 'Internal Server Error') },
      body: JSON.stringify({ message: 'Internal Server Error' }),
    };
    const impostorHeaders = { bt_header_axon_hotkey: options.rogueHotkey.ss58 };
    if (options.synapse.streaming) {
      const headers = { 'content-type': 'text/event-stream', ...statusHeaders(200, 'Success') };
      return {
        streaming: true,
        headers,
        impostorHeaders,
        open: '',
        piece: (word) => word,
        close: '',
        failure,
      };
    }
    // The output field last, so the answer can be written (or cut) inside its string, or as its JSON value.
    const { [options.synapse.outputField]: _, ...rest } = synapse;
    const text = serving.task === 'chat';
    const filled = JSON.stringify({ ...rest, [options.synapse.outputField]: text ? '' : null });
    return {
      streaming: false,
      headers: { 'content-type': 'application/json', ...statusHeaders(200, 'Success') },
      impostorHeaders,
      open: filled.slice(0, text ? -2 : -'null}'.length),
      piece: text ? (word) => JSON.stringify(word).slice(1, -1) : (word) => word,
      close: text ? filled.slice(-2) : '}',
      failure,
    };
  }

  function statusHeaders(code: number, message: string): Record<string, string> {
    return {
      bt_header_axon_status_code: String(code),
      bt_header_axon_status_message: message,
      bt_header_axon_hotkey: options.hotkey.ss58,
    };
  }

  function sendJson(response: ServerResponse, synapse: Record<string, unknown>): void {
    response.writeHead(200, { 'content-type': 'application/json', ...statusHeaders(200, 'Success') });
    response.end(JSON.stringify(synapse));
  }

  function reject(response: ServerResponse, status: number, message: string): void {
    response.writeHead(status, { 'content-type': 'application/json', ...statusHeaders(status, message) });
    response.end(JSON.stringify({ message }));
  }

  return startMinerServer(serve, options.behaviour);
}

function parseSynapse(body: Buffer): Record<string, JsonValue> | undefined {
  const value = jsonOf(body);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, JsonValue>)
    : undefined;
}
