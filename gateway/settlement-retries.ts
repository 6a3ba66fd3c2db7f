import type { Logger } from 'pino';

/** First wait before a settlement is tried again; it doubles up to the cap. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

/**
 * Settlements (a charge's commit or a reservation's release) that the ledger refused while it was down,
 * tried again in the background until it takes them. Without this, an answer served during an outage went
 * uncharged, and its reservation kept the account's funds on hold until this instance restarted (its own
 * lease, renewed all along, kept the sweep off it). Once the ledger is back, each is settled within the
 * backoff's cap. A settlement is safe to repeat: the ledger settles a pending reservation once and answers
 * false for one settled already, which ends the retries as well.
 */
export interface SettlementRetries {
  /** Tries `settle` again until it resolves (its result says whether this call settled it) or `close`. */
  retry(chargeId: string, settle: () => Promise<unknown>): void;
  /** Stops retrying; what is left is released by the lease sweep, or at this instance's next start. */
  close(): void;
}

export function settlementRetries(logger: Logger): SettlementRetries {
  const waiting = new Map<string, NodeJS.Timeout>();
  let closed = false;

  const retry = (chargeId: string, settle: () => Promise<unknown>, waitMs = FIRST_RETRY_MS) => {
    if (closed) return;
    const timer = setTimeout(() => {
      settle().then(
        () => {
          waiting.delete(chargeId);
          logger.info({ chargeId }, 'settled once the ledger answered again');
        },
        (error: unknown) => {
          logger.debug({ err: error, chargeId }, 'the ledger still refuses a settlement');
          retry(chargeId, settle, Math.min(MAX_RETRY_MS, waitMs * 2));
        },
      );
    }, waitMs);
    // Retries alone never keep the process up: at exit the lease sweep takes over.
    timer.unref();
    waiting.set(chargeId, timer);
  };

  return {
    retry: (chargeId, settle) => retry(chargeId, settle),
    close() {
      closed = true;
      for (const timer of waiting.values()) clearTimeout(timer);
      if (waiting.size > 0) {
        logger.error(
          { unsettled: [...waiting.keys()] },
          'stopped with settlements the ledger never took: their reservations go back unpaid',
        );
      }
      waiting.clear();
    },
  };
}
