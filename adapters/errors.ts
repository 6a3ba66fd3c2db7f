export type UpstreamErrorCode =
  /** The miner did not answer within the attempt's time. */
  | 'upstream_timeout'
  /** Connecting failed or the connection dropped. */
  | 'upstream_unreachable'
  /** The axon answered with a non-200 status (bittensor's codes: 401 not verified, 403 blacklisted, …). */
  | 'upstream_rejected'
  /** The answer was not a valid synapse: unparsable, truncated, empty, or over the size cap. */
  | 'upstream_invalid';

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  /** The axon's status where it gave one. */
  readonly status: number | undefined;

  constructor(code: UpstreamErrorCode, message: string, status?: number) {
    super(message);
    this.name = 'UpstreamError';
    this.code = code;
    this.status = status;
  }
}

/** Turns whatever a failed exchange threw into an UpstreamError, telling a deadline from a cancelled caller. */
export function toUpstreamError(error: unknown, deadline: AbortSignal): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (deadline.aborted) return new UpstreamError('upstream_timeout', 'the miner did not answer in time');
  const message = error instanceof Error ? error.message : String(error);
  return new UpstreamError('upstream_unreachable', message);
}
