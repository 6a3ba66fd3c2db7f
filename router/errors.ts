import type { UpstreamError } from '../adapters/index.ts';

export class ModelNotFound extends Error {
  readonly code = 'model_not_found';
  readonly model: string;
  constructor(model: string) {
    super(`The model '${model}' does not exist or is not routable`);
    this.name = 'ModelNotFound';
    this.model = model;
  }
}

/**
 * The subnet has no miner the gateway may call (none serving, none dialable, no metagraph yet, or every
 * circuit open). `retryAfterSeconds` is set when it is known when one may be back.
 */
export class NoHealthyMiner extends Error {
  readonly code = 'no_healthy_miner';
  readonly retryAfterSeconds: number | undefined;
  constructor(netuid: number, why: string, retryAfterSeconds?: number) {
    super(`No miner of subnet ${netuid} can take the request: ${why}`);
    this.name = 'NoHealthyMiner';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Every miner that could take the request, or the subnet as a whole, has as many calls open as allowed. */
export class MinersAtCapacity extends Error {
  readonly code = 'miners_at_capacity';
  readonly retryAfterSeconds: number;
  constructor(netuid: number, retryAfterSeconds: number) {
    super(`The miners of subnet ${netuid} are at capacity; retry after ${retryAfterSeconds} s`);
    this.name = 'MinersAtCapacity';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Every attempt failed; carries the last miner's failure. */
export class UpstreamExhausted extends Error {
  readonly code = 'upstream_exhausted';
  readonly attempts: number;
  readonly lastError: UpstreamError;
  constructor(netuid: number, attempts: number, lastError: UpstreamError) {
    super(
      `All ${attempts} miners tried on subnet ${netuid} failed; last: ${lastError.code} (${lastError.message})`,
    );
    this.name = 'UpstreamExhausted';
    this.attempts = attempts;
    this.lastError = lastError;
  }
}

/** The request's own deadline passed before any miner answered. */
export class DeadlineExceeded extends Error {
  readonly code = 'deadline_exceeded';
  constructor(ms: number) {
    super(`No miner answered within the request deadline of ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}
