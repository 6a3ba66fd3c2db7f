import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Hotkey } from '../bittensor/index.ts';
import { HEALTHY, type MinerBehaviour } from './behaviour.ts';

/** Who a localnet miner is and how it behaves, whatever protocol it speaks. */
export interface MinerIdentity {
  netuid: number;
  uid: number;
  /** The key the miner serves with (normally the one registered on chain). */
  hotkey: Hotkey;
  /** Served instead of `hotkey` when the behaviour says `wrongHotkey`. */
  rogueHotkey: Hotkey;
  /** Only these callers (validators with a permit) may call; others get 403. */
  isAllowedCaller: (hotkey: string) => boolean;
  behaviour?: Partial<MinerBehaviour>;
  seed?: number;
}

/** A running localnet miner, whatever protocol it speaks. */
export interface Miner {
  readonly port: number;
  behaviour: MinerBehaviour;
  /** Requests that reached the miner, rejected or not. */
  readonly received: number;
  /** Requests whose connection is still open (a hung miner holds them until the caller gives up). */
  readonly inFlight: number;
  close(): Promise<void>;
}

/** Serves one request; `body` is the raw bytes (signatures cover them exactly). */
export type MinerHandler = (
  request: IncomingMessage,
  body: Buffer,
  response: ServerResponse,
  behaviour: MinerBehaviour,
) => Promise<void>;

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The HTTP server under every kind of localnet miner: counts requests, tracks open connections so a hung
 * miner can still be closed, and lets tests change the behaviour while it runs.
 */
export async function startMinerServer(
  handle: MinerHandler,
  behaviour: Partial<MinerBehaviour> | undefined,
): Promise<Miner> {
  const state = { behaviour: { ...HEALTHY, ...behaviour }, received: 0, inFlight: 0 };
  const sockets = new Set<Socket>();

  const server = createServer((request, response) => {
    state.received++;
    state.inFlight++;
    response.once('close', () => state.inFlight--);
    readBody(request)
      .then((body) => handle(request, body, response, state.behaviour))
      .catch(() => response.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

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

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A request body as JSON, or undefined when it is not JSON (miners answer that with their own error). */
export function jsonOf(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
