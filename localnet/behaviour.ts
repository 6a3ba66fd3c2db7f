/** How a localnet miner misbehaves, so faults can be staged. All rates are probabilities per request. */
export interface MinerBehaviour {
  /** Median service time before the first byte. */
  latencyMs: number;
  /** Uniform jitter added to the latency, ± this much. */
  jitterMs: number;
  /** Delay between streamed chunks. */
  chunkDelayMs: number;
  /** Answers 500 with the axon's error body. */
  errorRate: number;
  /** Never answers (the caller's timeout must fire). */
  hangRate: number;
  /** Answers 200 with output that is not a valid synapse. */
  garbageRate: number;
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
  errorRate: 0,
  hangRate: 0,
  garbageRate: 0,
  wrongHotkey: false,
};

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

/** What a request gets under a behaviour: the staged fault, or the answer. */
export type StagedOutcome = 'hang' | 'error' | 'garbage' | 'answer';

/**
 * A miner's fault stage, the same for every kind of miner: wait the behaviour's service time, then draw
 * this request's outcome from the miner's own seeded sequence.
 */
export function createFaultStage(seed: number): (behaviour: MinerBehaviour) => Promise<StagedOutcome> {
  const random = seededRandom(seed);
  return async (behaviour) => {
    await sleep(behaviour.latencyMs + (random() * 2 - 1) * behaviour.jitterMs);
    const roll = random();
    if (roll < behaviour.hangRate) return 'hang';
    if (roll < behaviour.hangRate + behaviour.errorRate) return 'error';
    if (roll < behaviour.hangRate + behaviour.errorRate + behaviour.garbageRate) return 'garbage';
    return 'answer';
  };
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
