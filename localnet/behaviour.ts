import type { ServerResponse } from 'node:http';

/** How a localnet miner misbehaves, so faults can be staged. All rates are probabilities per request. */
export interface MinerBehaviour {
  /** Median service time before the first byte. */
  latencyMs: number;
  /** Uniform jitter added to the latency, ± this much. */
  jitterMs: number;
  /** Delay between streamed chunks. */
  chunkDelayMs: number;
  /** Never answers (the caller's timeout must fire). */
  hangRate: number;
  /** Resets the connection (TCP RST) instead of answering. */
  resetRate: number;
  /** Answers 307 to the cloud metadata address, the classic server-side request forgery bait. */
  redirectRate: number;
  /** Answers 500 with its protocol's error body. */
  errorRate: number;
  /** Answers 200 with bytes that are no answer at all (binary, not even UTF-8). */
  garbageRate: number;
  /** Answers 200 with the answer cut off before its end (JSON or SSE left open, then a clean close). */
  truncatedRate: number;
  /** Answers 200 with an HTML page where the answer should be, as a captive portal or a proxy would. */
  mislabelledRate: number;
  /** Answers correctly but names another hotkey as the one answering, where the protocol says who answers. */
  impostorRate: number;
  /** Starts a valid answer, then sends more than any gateway should buffer (12 MiB). */
  hugeRate: number;
  /** Starts a valid answer and never ends it: a chunk every `chunkDelayMs` until the caller hangs up. */
  endlessRate: number;
  /** Starts a valid answer, then drops the connection half-way. */
  dropRate: number;
  /**
   * Serves with a different hotkey from the one registered on chain, as a miner that rotated its key
   * would: every correctly signed request fails verification with 401.
   */
  wrongHotkey: boolean;
}

export const HEALTHY: MinerBehaviour = {
  latencyMs: 5,
  jitterMs: 2,
  chunkDelayMs: 1,
  hangRate: 0,
  resetRate: 0,
  redirectRate: 0,
  errorRate: 0,
  garbageRate: 0,
  truncatedRate: 0,
  mislabelledRate: 0,
  impostorRate: 0,
  hugeRate: 0,
  endlessRate: 0,
  dropRate: 0,
  wrongHotkey: false,
};

/** Every staged fault and the behaviour field holding its rate, in the order a request's roll meets them. */
export const STAGED_FAULTS = [
  ['hang', 'hangRate'],
  ['reset', 'resetRate'],
  ['redirect', 'redirectRate'],
  ['error', 'errorRate'],
  ['garbage', 'garbageRate'],
  ['truncated', 'truncatedRate'],
  ['mislabelled', 'mislabelledRate'],
  ['impostor', 'impostorRate'],
  ['huge', 'hugeRate'],
  ['endless', 'endlessRate'],
  ['drop', 'dropRate'],
] as const satisfies readonly (readonly [string, keyof MinerBehaviour])[];

export type StagedFault = (typeof STAGED_FAULTS)[number][0];

/** What a request gets under a behaviour: a staged fault, or the answer. */
export type StagedOutcome = StagedFault | 'answer';

/** A behaviour that stages one fault on every request. */
export function always(fault: StagedFault): Partial<MinerBehaviour> {
  const field = STAGED_FAULTS.find(([name]) => name === fault)![1];
  return { [field]: 1 };
}

/** mulberry32: a tiny seeded PRNG, so a staged fault mix replays the same way every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A miner's fault stage, the same for every kind of miner: wait the behaviour's service time, then draw
 * this request's outcome from the miner's own seeded sequence.
 */
export function createFaultStage(seed: number): (behaviour: MinerBehaviour) => Promise<StagedOutcome> {
  const random = seededRandom(seed);
  return async (behaviour) => {
    await sleep(behaviour.latencyMs + (random() * 2 - 1) * behaviour.jitterMs);
    let roll = random();
    for (const [fault, field] of STAGED_FAULTS) {
      roll -= behaviour[field];
      if (roll < 0) return fault;
    }
    return 'answer';
  };
}

/**
 * How one kind of miner's answer goes on the wire, so every fault is staged alike for every protocol: the
 * answer is `open`, then one `piece` per word, then `close`.
 */
export interface AnswerWire {
  /** Streamed answers are written piece by piece, paced by the chunk delay; others in one write. */
  streaming: boolean;
  /** The success status's headers, content-type included. */
  headers: Record<string, string>;
  /** Headers naming another hotkey as the one answering; undefined where the protocol names nobody. */
  impostorHeaders: Record<string, string> | undefined;
  open: string;
  piece(word: string): string;
  close: string;
  /** The protocol's own 500. */
  failure: { headers: Record<string, string>; body: string };
}

/** A page of the kind proxies and captive portals put where an API answer should be. */
const HTML_PAGE = '<!doctype html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>';

const REDIRECT_BAIT = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/';

/** Comfortably past the gateway's 8 MiB cap on upstream answers. */
const HUGE_BYTES = 12 * 1024 * 1024;

/** Writes the answer, or the staged fault in its place. A hang writes nothing and holds the socket. */
export async function writeStaged(
  outcome: StagedOutcome,
  response: ServerResponse,
  wire: AnswerWire,
  answer: string,
  behaviour: MinerBehaviour,
): Promise<void> {
  const words = answer.match(/\S+\s*/g) ?? [];
  switch (outcome) {
    case 'hang':
      return;
    case 'reset':
      return void response.socket?.resetAndDestroy();
    case 'redirect':
      response.writeHead(307, { ...wire.failure.headers, location: REDIRECT_BAIT });
      return void response.end(wire.failure.body);
    case 'error':
      response.writeHead(500, wire.failure.headers);
      return void response.end(wire.failure.body);
    case 'garbage':
      response.writeHead(200, wire.headers);
      return void response.end(Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x9f, 0x92, 0x96, 0x0a]));
    case 'mislabelled':
      response.writeHead(200, { ...wire.headers, 'content-type': 'text/html; charset=utf-8' });
      return void response.end(HTML_PAGE);
    case 'truncated':
      response.writeHead(200, wire.headers);
      return void response.end(
        wire.open +
          words
            .slice(0, words.length >> 1)
            .map(wire.piece)
            .join(''),
      );
    case 'drop':
      response.writeHead(200, wire.headers);
      await write(
        response,
        wire.open +
          words
            .slice(0, Math.max(1, words.length >> 1))
            .map(wire.piece)
            .join(''),
      );
      await sleep(behaviour.chunkDelayMs);
      return void response.socket?.destroy();
    case 'huge': {
      response.writeHead(200, wire.headers);
      const block = wire.piece(`${'x'.repeat(1023)} `).repeat(64);
      await write(response, wire.open);
      for (let sent = 0; sent < HUGE_BYTES && !response.destroyed; sent += block.length) {
        await write(response, block);
      }
      return void response.end(wire.close);
    }
    case 'endless':
      response.writeHead(200, wire.headers);
      await write(response, wire.open);
      while (!response.destroyed) {
        await write(response, wire.piece('more '));
        await sleep(Math.max(5, behaviour.chunkDelayMs));
      }
      return;
    case 'impostor':
    case 'answer': {
      const impostor = outcome === 'impostor' ? wire.impostorHeaders : undefined;
      response.writeHead(200, { ...wire.headers, ...impostor });
      if (!wire.streaming) return void response.end(wire.open + words.map(wire.piece).join('') + wire.close);
      await write(response, wire.open);
      for await (const word of pacedWords(answer, behaviour)) {
        if (response.destroyed) return;
        await write(response, wire.piece(word));
      }
      return void response.end(wire.close);
    }
  }
}

/** Writes with backpressure, so a huge or endless answer goes only as fast as the caller reads. */
function write(response: ServerResponse, chunk: string): Promise<void> {
  if (response.destroyed || chunk === '') return Promise.resolve();
  if (response.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

/** An answer word by word (with its trailing space), paced by the behaviour's chunk delay. */
export async function* pacedWords(answer: string, behaviour: MinerBehaviour): AsyncGenerator<string> {
  for (const word of answer.match(/\S+\s*/g) ?? []) {
    yield word;
    await sleep(behaviour.chunkDelayMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
