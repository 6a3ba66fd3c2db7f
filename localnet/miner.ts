import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AxonStatus, type Hotkey, NonceWindow, nowNs, synapseBodyHash } from '../bittensor/index.ts';
import type { JsonValue } from '../bittensor/python-str.ts';
import type { SynapseProfile } from '../config/profiles.ts';
import { HEALTHY, type MinerBehaviour, seededRandom } from './behaviour.ts';
import { lastUserMessage, minerAnswer } from './chat-synapse.ts';

export interface MinerOptions {
  netuid: number;
  uid: number;
  /** The key the axon serves with (normally the one registered on chain). */
  hotkey: Hotkey;
  /** Served instead of `hotkey` when the behaviour says `wrongHotkey`. */
  rogueHotkey: Hotkey;
  synapse: SynapseProfile;
  /** The blacklist: only these dendrite hotkeys (validators with a permit) may call. */
  isAllowedCaller: (hotkey: string) => boolean;
  behaviour?: Partial<MinerBehaviour>;
  seed?: number;
}

export interface Miner {
  readonly port: number;
  behaviour: MinerBehaviour;
  /** Requests that reached the miner, rejected or not. */
  readonly received: number;
  /** Requests whose connection is still open (a hung miner holds them until the caller gives up). */
  readonly inFlight: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * A localnet miner: a real HTTP axon that follows bittensor/core/axon.py's middleware order
 * (preprocess → blacklist → verify → priority → body integrity → forward), with its statuses and error body.
 */
export async function startMiner(options: MinerOptions): Promise<Miner> {
  const random = seededRandom(options.seed ?? options.netuid * 1000 + options.uid);
  const nonces = new NonceWindow();
  const state = { behaviour: { ...HEALTHY, ...options.behaviour }, received: 0, inFlight: 0 };
  const sockets = new Set<import('node:net').Socket>();

  const server = createServer((request, response) => {
    state.received++;
    state.inFlight++;
    response.once('close', () => state.inFlight--);
    serve(request, response).catch(() => response.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const behaviour = state.behaviour;
    const servedKey = behaviour.wrongHotkey ? options.rogueHotkey : options.hotkey;
    const name = (request.url ?? '/').slice(1).split('?')[0] ?? '';
    const headers = request.headers as Record<string, string | undefined>;
    const body = await readBody(request);
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

    const synapse = parseSynapse(body);
    if (
      !synapse ||
      synapseBodyHash(synapse, options.synapse.requiredHashFields) !== headers.computed_body_hash
    ) {
      return reject(response, AxonStatus.internalError, 'Internal Server Error');
    }
    const prompt = lastUserMessage(options.synapse, synapse);
    if (prompt === undefined) return reject(response, AxonStatus.internalError, 'Internal Server Error');

    await sleep(behaviour.latencyMs + (random() * 2 - 1) * behaviour.jitterMs);
    const roll = random();
    if (roll < behaviour.hangRate) return; // holds the socket until the dendrite gives up
    if (roll < behaviour.hangRate + behaviour.errorRate) {
      return reject(response, AxonStatus.internalError, 'Internal Server Error');
    }
    if (roll < behaviour.hangRate + behaviour.errorRate + behaviour.garbageRate) {
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
    for (const chunk of answer.match(/\S+\s*/g) ?? []) {
      if (response.destroyed) return;
      response.write(chunk);
      if (behaviour.chunkDelayMs > 0) await sleep(behaviour.chunkDelayMs);
    }
    response.end();
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

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(next: MinerBehaviour) {
      state.behaviour = next;
    },
    get received() {
      return state.received;
    },
    get inFlight() {
      return state.inFlight;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseSynapse(body: string): Record<string, JsonValue> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, JsonValue>)
      : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
