import type { ServerResponse } from 'node:http';
import { AxonStatus, NonceWindow, nowNs, synapseBodyHash } from '../bittensor/index.ts';
import type { JsonValue } from '../bittensor/python-str.ts';
import type { SynapseProfile } from '../config/profiles.ts';
import { createFaultStage, pacedWords } from './behaviour.ts';
import { lastUserMessage, minerAnswer } from './chat-synapse.ts';
import {
  jsonOf,
  type Miner,
  type MinerHandler,
  type MinerIdentity,
  startMinerServer,
} from './miner-server.ts';

export interface MinerOptions extends MinerIdentity {
  synapse: SynapseProfile;
}

/**
 * A localnet miner: a real HTTP axon that follows bittensor/core/axon.py's middleware order
 * (preprocess → blacklist → verify → priority → body integrity → forward), with its statuses and error body.
 */
export function startMiner(options: MinerOptions): Promise<Miner> {
  const stageFault = createFaultStage(options.seed ?? options.netuid * 1000 + options.uid);
  const nonces = new NonceWindow();

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
    const prompt = lastUserMessage(options.synapse, synapse);
    if (prompt === undefined) return reject(response, AxonStatus.internalError, 'Internal Server Error');

    const outcome = await stageFault(behaviour);
    if (outcome === 'hang') return; // holds the socket until the dendrite gives up
    if (outcome === 'error') return reject(response, AxonStatus.internalError, 'Internal Server Error');
    if (outcome === 'garbage') {
      response.writeHead(200, {
        'content-type': options.synapse.streaming ? 'text/event-stream' : 'application/json',
      });
      return void response.end(options.synapse.streaming ? '' : '{"completion": ');
    }
    const answer = minerAnswer(options.netuid, options.uid, prompt);
    if (!options.synapse.streaming) {
      return sendJson(response, { ...synapse, [options.synapse.outputField]: answer });
    }
    // BTStreamingResponse (bittensor/core/stream.py 85-93): status 200, text/event-stream, raw UTF-8 chunks.
    response.writeHead(200, { 'content-type': 'text/event-stream', ...statusHeaders(200, 'Success') });
    for await (const word of pacedWords(answer, behaviour)) {
      if (response.destroyed) return;
      response.write(word);
    }
    response.end();
  };

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
