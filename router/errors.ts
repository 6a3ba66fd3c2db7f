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

/** The subnet has no miner the gateway may call (none serving, none dialable, or no metagraph yet). */
export class NoHealthyMiner extends Error {
  readonly code = 'no_healthy_miner';
  constructor(netuid: number, why: string) {
    super(`No miner of subnet ${netuid} can take the request: ${why}`);
    this.name = 'NoHealthyMiner';
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
