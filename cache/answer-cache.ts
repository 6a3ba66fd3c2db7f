import { ReplayStream } from '../router/replay-stream.ts';
import type { ReplicaCoordination, ReplicaLock } from './replica-coordination.ts';
import type { CachedAnswer, MemoryAnswer, TieredStore } from './tiered-store.ts';

export type CacheStatus = 'hit' | 'miss' | 'bypass';

export type CacheEvent =
  | 'hit_memory'
  | 'hit_redis'
  | 'miss'
  | 'bypass'
  | 'coalesced_local'
  | 'coalesced_replica'
  | 'stored'
  | 'redis_error';

export interface AnswerLookup {
  key: string;
  /** How long the answer may be served from the cache. */
  ttlMs: number;
  /** False when the client asked for a fresh answer (`Cache-Control: no-cache`): it is still stored. */
  read: boolean;
  /** The caller's own signal: when every caller sharing an upstream call has gone, the call is cancelled. */
  signal: AbortSignal;
}

/** What the upstream call produced: a description of it, its text, and whether it may be kept. */
export interface Produced<Meta> {
  meta: Meta;
  text: AsyncIterable<string>;
  /** False for answers that must not be served again (a fallback stood in, say); they are still shared in flight. */
  storable: boolean;
}

export interface Served<Meta> {
  status: Exclude<CacheStatus, 'bypass'>;
  /** This caller shared an upstream call (or a wait on another replica's) with others. */
  coalesced: boolean;
  meta: Meta;
  text: AsyncIterable<string>;
}

export type Produce<Meta> = (signal: AbortSignal) => Promise<Produced<Meta>>;

interface Flight {
  ready: Promise<{ status: 'hit' | 'miss'; meta: unknown }>;
  stream: ReplayStream;
  subscribers: number;
  controller: AbortController;
}

export interface AnswerCacheOptions {
  store: TieredStore;
  /** Coalescing across replicas; undefined without Redis. */
  replicas: ReplicaCoordination | undefined;
  /** A replica lock's lifetime past its last renewal; how long a follower waits before checking again. */
  lockMs: number;
  observe: (event: CacheEvent) => void;
}

/**
 * Answers a request from the cache, or from the one upstream call in flight for it, or by making that call:
 * identical requests in one process share a call (each reader gets the whole text, however late it
 * joined), and with Redis, replicas share one through a lock. Failures are shared too, but never cached.
 */
export function createAnswerCache(options: AnswerCacheOptions) {
  const { store, replicas } = options;
  const flights = new Map<string, Flight>();

  /**
   * The answer this process keeps in memory, at once: a hit needs no Redis, no flight and no await, so the
   * caller may answer before building anything an upstream call would need (its signal, say).
   */
  function fromMemory<Meta>(key: string): Served<Meta> | undefined {
    const cached = store.fromMemory(key);
    if (!cached) return undefined;
    options.observe('hit_memory');
    return { status: 'hit', coalesced: false, meta: cached.meta as Meta, text: replayOf(cached) };
  }

  async function answer<Meta>(lookup: AnswerLookup, produce: Produce<Meta>): Promise<Served<Meta>> {
    // A caller already gone would never leave its flight (its abort has fired): it must not join one.
    lookup.signal.throwIfAborted();
    const hit = lookup.read ? fromMemory<Meta>(lookup.key) : undefined;
    if (hit) return hit;
    // A fresh-answer request must not join a flight that may be served from the cache.
    const flightKey = lookup.read ? lookup.key : `${lookup.key}!fresh`;
    let flight = flights.get(flightKey);
    const coalesced = flight !== undefined;
    if (flight) options.observe('coalesced_local');
    else {
      flight = startFlight(flightKey, lookup, produce as Produce<unknown>);
      flights.set(flightKey, flight);
    }
    return join(flight, lookup.signal, coalesced) as Promise<Served<Meta>>;
  }

  function startFlight(flightKey: string, lookup: AnswerLookup, produce: Produce<unknown>): Flight {
    const controller = new AbortController();
    const stream = new ReplayStream();
    const flight: Flight = { ready: undefined as never, stream, subscribers: 0, controller };
    const land = () => {
      if (flights.get(flightKey) === flight) flights.delete(flightKey);
    };
    flight.ready = fly(flight, lookup, produce).catch((error: unknown) => {
      stream.fail(error);
      land();
      throw error;
    });
    // Readers handle the failure; this copy only keeps an unjoined failure from being unhandled.
    flight.ready.catch(() => {});

    async function fly(flight: Flight, lookup: AnswerLookup, produce: Produce<unknown>) {
      const signal = flight.controller.signal;
      let lock: ReplicaLock | undefined;
      if (lookup.read) {
        const shared = await sharedAnswer(lookup.key, signal);
        if (shared.kind === 'answer') {
          for (const chunk of shared.answer.chunks) stream.push(chunk);
          stream.end();
          land();
          return { status: 'hit' as const, meta: shared.answer.meta };
        }
        lock = shared.lock;
      }
      options.observe('miss');
      let produced: Produced<unknown>;
      const renewal = lock ? setInterval(() => lock.renew(), options.lockMs / 3).unref() : undefined;
      try {
        produced = await produce(signal);
      } catch (error) {
        clearInterval(renewal);
        await lock?.release();
        throw error;
      }
      void pump(produced, lookup).finally(async () => {
        clearInterval(renewal);
        land();
        await lock?.release();
      });
      return { status: 'miss' as const, meta: produced.meta };
    }

    /** Reads upstream at its own pace, whoever is reading; keeps the whole answer if it completed. */
    async function pump(produced: Produced<unknown>, lookup: AnswerLookup): Promise<void> {
      try {
        for await (const chunk of produced.text) stream.push(chunk);
      } catch (error) {
        stream.fail(error);
        return;
      }
      stream.end();
      if (!produced.storable || lookup.ttlMs <= 0) return;
      // Kept as one string: a replay sends it at once anyway, and one string takes less memory than chunks.
      const chunks = stream.chunks.length > 1 ? [stream.chunks.join('')] : stream.chunks;
      await store.store(lookup.key, { meta: produced.meta, chunks }, lookup.ttlMs);
      options.observe('stored');
    }

    return flight;
  }

  type Shared = { kind: 'answer'; answer: CachedAnswer } | { kind: 'lead'; lock: ReplicaLock | undefined };

  /** Redis's copy, or another replica's answer once it lands there; else the right to ask upstream. */
  async function sharedAnswer(key: string, signal: AbortSignal): Promise<Shared> {
    for (let waited = false; ; waited = true) {
      const found = await store.fromRedis(key);
      if (found) {
        options.observe(waited ? 'coalesced_replica' : 'hit_redis');
        return { kind: 'answer', answer: found };
      }
      if (!replicas || signal.aborted) return { kind: 'lead', lock: undefined };
      const announcement = replicas.listenForLeader(key, options.lockMs, signal);
      const outcome = await replicas.tryLock(key);
      if (outcome.kind === 'unavailable') {
        announcement.cancel();
        return { kind: 'lead', lock: undefined };
      }
      if (outcome.kind === 'acquired') {
        announcement.cancel();
        // Another replica may have finished between our read and our lock: look once more before asking.
        const landed = await store.fromRedis(key);
        if (!landed) return { kind: 'lead', lock: outcome.lock };
        await outcome.lock.release();
        options.observe('coalesced_replica');
        return { kind: 'answer', answer: landed };
      }
      await announcement.done;
    }
  }

  async function join(flight: Flight, signal: AbortSignal, coalesced: boolean): Promise<Served<unknown>> {
    flight.subscribers++;
    let joined = true;
    const leave = () => {
      if (!joined) return;
      joined = false;
      signal.removeEventListener('abort', leave);
      // The last caller gone: nobody wants the answer, so the upstream call stops too.
      if (--flight.subscribers === 0 && !flight.stream.finished) flight.controller.abort(signal.reason);
    };
    signal.addEventListener('abort', leave, { once: true });
    let ready: Awaited<Flight['ready']>;
    try {
      ready = await flight.ready;
    } catch (error) {
      leave();
      throw error;
    }
    return { status: ready.status, coalesced, meta: ready.meta, text: readThenLeave(flight.stream, leave) };
  }

  return {
    answer,
    fromMemory,
    inFlight: () => flights.size,
  };
}

export type AnswerCache = ReturnType<typeof createAnswerCache>;

const wholeText = Symbol('whole text');

/** A complete text as a JSON string literal, and its length in UTF-16 code units (as `String#length`). */
export interface WholeText {
  readonly textJson: string;
  readonly textLength: number;
}

/** An answer whose text is all here already: iterable like any other, or taken whole at once. */
interface CompleteText extends AsyncIterable<string> {
  readonly [wholeText]: WholeText;
}

/** One replay per cached answer, made on its first hit: later hits allocate nothing for their text. */
const replays = new WeakMap<MemoryAnswer, CompleteText>();

function replayOf(answer: MemoryAnswer): CompleteText {
  let replay = replays.get(answer);
  if (!replay) {
    replay = {
      [wholeText]: answer,
      async *[Symbol.asyncIterator]() {
        if (answer.textLength > 0) yield JSON.parse(answer.textJson) as string;
      },
    };
    replays.set(answer, replay);
  }
  return replay;
}

/**
 * The whole text when it is already complete (a cache hit), ready for a JSON answer: a caller answering
 * at once skips an async iteration and escaping the text again, the larger part of a hit's cost.
 */
export function wholeTextOf(text: AsyncIterable<string>): WholeText | undefined {
  return wholeText in text ? (text as CompleteText)[wholeText] : undefined;
}

async function* readThenLeave(stream: ReplayStream, leave: () => void): AsyncGenerator<string> {
  try {
    yield* stream.read();
  } finally {
    leave();
  }
}
