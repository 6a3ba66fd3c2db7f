export interface InFlightSettings {
  /** Calls one miner may have open at once. */
  minerMaxInFlight: number;
  /** Calls one subnet may have open at once, over all its miners. */
  subnetMaxInFlight: number;
}

/**
 * Counts open calls per miner and per subnet, so the gateway turns work away (429) once miners are full
 * instead of queueing it without bound: behind a full miner, a queue only adds waiting to a deadline that
 * is already running.
 */
export class InFlightLimits {
  readonly #settings: InFlightSettings;
  /** Entries leave at zero, so memory follows the calls open, not every miner ever called. */
  readonly #perMiner = new Map<string, number>();
  readonly #perSubnet = new Map<number, number>();

  constructor(settings: InFlightSettings) {
    this.#settings = settings;
  }

  subnetHasRoom(netuid: number): boolean {
    return (this.#perSubnet.get(netuid) ?? 0) < this.#settings.subnetMaxInFlight;
  }

  minerHasRoom(netuid: number, hotkey: string): boolean {
    return this.inFlight(netuid, hotkey) < this.#settings.minerMaxInFlight;
  }

  inFlight(netuid: number, hotkey: string): number {
    return this.#perMiner.get(minerKey(netuid, hotkey)) ?? 0;
  }

  /**
   * Takes a slot, room or not: the caller checked `subnetHasRoom` and `minerHasRoom` in the same tick.
   * The returned function gives the slot back, once however often it is called.
   */
  acquire(netuid: number, hotkey: string): () => void {
    const key = minerKey(netuid, hotkey);
    this.#perMiner.set(key, (this.#perMiner.get(key) ?? 0) + 1);
    this.#perSubnet.set(netuid, (this.#perSubnet.get(netuid) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.#perMiner, key);
      decrement(this.#perSubnet, netuid);
    };
  }
}

function minerKey(netuid: number, hotkey: string): string {
  return `${netuid}/${hotkey}`;
}

function decrement<K>(counts: Map<K, number>, key: K): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}
