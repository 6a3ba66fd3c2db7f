import type { Logger } from 'pino';
import type { Ledger, Quote, Settlement, UsageMeter } from '../billing/index.ts';
import type { SettlementRetries } from './settlement-retries.ts';

/** What settling a reservation needs from the middleware. */
export interface SettlementDeps {
  ledger: Ledger;
  /** Answers up to this size are kept for Idempotency-Key retries. */
  maxStoredResponseBytes: number;
  /** The metrics hook for rao charged per subnet. */
  spent?: (netuid: number, rao: bigint) => void;
  logger: Logger;
  /** Where settlements go that the ledger refused: tried again until it takes them. */
  retries: SettlementRetries;
}

/** How long a client-aborted stream waits for its handler to report what was produced. */
const ABORT_REPORT_WAIT_MS = 2000;
const encoder = new TextEncoder();

export interface RequestFacts {
  bodyChars: number;
  path: string;
  /** Keep the answer for Idempotency-Key retries. */
  keep: boolean;
}

/** Commits or releases one reservation, exactly once, from whichever way the response ends. */
export function settler(
  deps: SettlementDeps,
  chargeId: string,
  meter: UsageMeter,
  quote: Quote,
  facts: RequestFacts,
) {
  // The first way the response ends settles it; a later one (a cancel racing a stream's own end) waits for
  // that settlement rather than returning early, so a drain that awaits it knows the ledger is written.
  let settling: Promise<void> | undefined;
  const releaseOnce = async () => {
    await deps.ledger.release(chargeId).catch((error: unknown) => {
      deps.logger.warn({ err: error, chargeId }, 'releasing a reservation failed; trying again');
      deps.retries.retry(chargeId, () => deps.ledger.release(chargeId));
    });
  };
  const commitOnce = async (response?: Settlement['response']) => {
    const reading = meter.read();
    const netuids = new Set(reading.answers.map((a) => a.netuid));
    const first = reading.answers[0];
    const settlement: Settlement = {
      costRao: reading.costRao,
      netuid: netuids.size === 1 ? (first?.netuid ?? null) : null,
      model: netuids.size === 1 && first ? first.model : quote.primary.model,
      inputTokens: sum(reading.answers, (a) => a.inputTokens),
      outputTokens: sum(reading.answers, (a) => a.outputTokens),
      images: sum(reading.answers, (a) => a.images),
      nowMs: Date.now(),
      response,
    };
    const charged = (committed: boolean) => {
      if (!committed) {
        // No longer pending: settled already (a commit whose reply was lost), or swept after a lapsed lease.
        deps.logger.error(
          { chargeId, costRao: String(settlement.costRao) },
          'a served answer could not be charged',
        );
        return;
      }
      // Per subnet, as each answer was priced (a pipeline's steps are on several subnets).
      for (const answer of reading.answers) deps.spent?.(answer.netuid, answer.costRao);
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return charged(await deps.ledger.commit(chargeId, settlement));
      } catch (error) {
        deps.logger.warn({ err: error, chargeId, attempt }, 'committing a charge failed');
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
    // The answer is not held back any longer: it is charged once the ledger takes the commit.
    deps.retries.retry(chargeId, async () => charged(await deps.ledger.commit(chargeId, settlement)));
  };
  const release = () => (settling ??= releaseOnce());
  const commit = (response?: Settlement['response']) => (settling ??= commitOnce(response));
  /** An answer the handler did not report (a route outside the meter contract): priced from what is known. */
  const recordFallback = (answer?: Record<string, unknown>) => {
    if (meter.read().answers.length > 0) return;
    const usage = isObject(answer?.usage) ? answer.usage : undefined;
    const model = typeof answer?.model === 'string' ? answer.model : quote.primary.model;
    meter.record({
      model,
      inputTokens: numberField(usage, 'prompt_tokens') ?? Math.ceil(facts.bodyChars / 4),
      outputTokens: numberField(usage, 'completion_tokens') ?? 0,
      images:
        facts.path.endsWith('/images/generations') && Array.isArray(answer?.data) ? answer.data.length : 0,
    });
  };

  return {
    release,
    /** A whole (JSON) answer: charged before it is sent, with `usage.cost_rao` added when it has a usage. */
    async complete(bytes: Uint8Array, status: number, contentType: string) {
      let body: Uint8Array = bytes;
      if (meter.read().answers.length === 0) {
        const answer = contentType.includes('json')
          ? parseObject(new TextDecoder().decode(bytes))
          : undefined;
        recordFallback(answer);
        if (answer && isObject(answer.usage)) {
          answer.usage.cost_rao = Number(meter.read().costRao);
          body = encoder.encode(JSON.stringify(answer));
        }
      }
      const keep = facts.keep && body.byteLength <= deps.maxStoredResponseBytes;
      await commit(keep ? { status, contentType, body } : undefined);
      return { body, costRao: meter.read().costRao };
    },
    /** Passes the stream through and settles once it ends, fails, or the client goes away. */
    whenStreamEnds(stream: ReadableStream<Uint8Array>, contentType: string): ReadableStream<Uint8Array> {
      const reader = stream.getReader();
      const kept: Uint8Array[] = [];
      let keptBytes = 0;
      const finish = async () => {
        const reading = meter.read();
        if (reading.failed) return release();
        recordFallback();
        const keep = facts.keep && keptBytes <= deps.maxStoredResponseBytes;
        await commit(keep ? { status: 200, contentType, body: concat(kept, keptBytes) } : undefined);
      };
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            await release();
            controller.error(error);
            return;
          }
          if (chunk.done) {
            await finish();
            controller.close();
            return;
          }
          if (facts.keep && keptBytes <= deps.maxStoredResponseBytes) kept.push(chunk.value);
          keptBytes += chunk.value.byteLength;
          controller.enqueue(chunk.value);
        },
        async cancel(reason) {
          await reader.cancel(reason).catch(() => undefined);
          // The handler reports what it produced once its upstream call stops; charge that (decided: the
          // miners did the work up to the abort), or the request's known part if it never reports.
          await Promise.race([
            meter.reported,
            new Promise((resolve) => setTimeout(resolve, ABORT_REPORT_WAIT_MS)),
          ]);
          const reading = meter.read();
          if (reading.failed) return release();
          recordFallback();
          await commit();
        },
      });
    },
  };
}

export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberField(object: Record<string, unknown> | undefined, name: string): number | undefined {
  const value = object?.[name];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function sum<T>(items: readonly T[], of: (item: T) => number | undefined): number {
  return items.reduce((total, item) => total + (of(item) ?? 0), 0);
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}
