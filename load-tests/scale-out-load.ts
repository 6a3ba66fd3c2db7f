import { type ChatAnswer, readChatAnswer } from '../test/chat-answer.ts';
import type { GatewayProcess } from '../test/gateway-process.ts';

/** One gateway process behind the load generator, which plays a load balancer with passive checks. */
export interface Replica {
  name: string;
  gateway: GatewayProcess;
  /** Taken out of the rotation after a connection failure, as a load balancer would. */
  up: boolean;
}

export interface ChatCall {
  model: string;
  prompt: string;
  stream: boolean;
  temperature?: number;
  /** API key (`Authorization: Bearer`), when the ledger is on. */
  apiKey?: string;
  idempotencyKey?: string;
}

export interface CallResult {
  answer: ChatAnswer | undefined;
  /** The connection failed (refused, reset, cut) before an answer was read. */
  networkError: string | undefined;
  headers: Headers | undefined;
  ms: number;
}

export function chatBody(call: ChatCall): string {
  return JSON.stringify({
    model: call.model,
    messages: [{ role: 'user', content: call.prompt }],
    stream: call.stream,
    ...(call.temperature === undefined ? {} : { temperature: call.temperature }),
  });
}

export async function callChat(url: string, call: ChatCall): Promise<CallResult> {
  const started = performance.now();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (call.apiKey) headers.authorization = `Bearer ${call.apiKey}`;
  if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey;
  try {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: chatBody(call),
    });
    const answer = await readChatAnswer(response);
    return { answer, networkError: undefined, headers: response.headers, ms: performance.now() - started };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    return { answer: undefined, networkError: reason, headers: undefined, ms: performance.now() - started };
  }
}

/** A request the client saw answered in full: what it asked, what it got, what it was charged. */
export interface Acknowledged {
  call: ChatCall;
  replica: string;
  text: string;
  costRao: bigint;
}

export interface LoadReport {
  sent: number;
  acknowledged: Acknowledged[];
  /** Requests given up after every retry (never acknowledged, so nothing is owed for them). */
  abandoned: number;
  /** Attempts repeated on another replica (same Idempotency-Key) after a failure. */
  retries: number;
  networkErrors: number;
  /** Streams that ended with the gateway's shutting-down error event. */
  cutStreams: number;
  latenciesMs: number[];
  seconds: number;
}

export interface LoadOptions {
  replicas: Replica[];
  seconds: number;
  concurrency: number;
  /** Builds the n-th request of a worker. */
  request: (worker: number, n: number) => ChatCall;
  /** Called every 100 ms with the seconds elapsed (to kill replicas mid-run). */
  onTick?: (elapsedSeconds: number) => void;
}

const MAX_TRIES = 20;

/**
 * Closed-loop load: `concurrency` workers each send a request, wait for its answer, and send the next, for
 * `seconds`. Round robin over replicas that are up; a failed attempt (connection error, 503, a stream cut by
 * a shutdown, 409 while the first attempt's reservation is still held) is retried on the next replica with
 * the same Idempotency-Key, so a retry never pays twice.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const report: LoadReport = {
    sent: 0,
    acknowledged: [],
    abandoned: 0,
    retries: 0,
    networkErrors: 0,
    cutStreams: 0,
    latenciesMs: [],
    seconds: 0,
  };
  let turn = 0;
  const nextReplica = () => {
    const up = options.replicas.filter((replica) => replica.up);
    return up[turn++ % up.length];
  };
  const started = performance.now();
  const until = started + options.seconds * 1000;
  const ticker = setInterval(() => options.onTick?.((performance.now() - started) / 1000), 100);

  const worker = async (index: number) => {
    for (let n = 0; performance.now() < until; n++) {
      const call = options.request(index, n);
      report.sent++;
      for (let attempt = 0; ; attempt++) {
        const replica = nextReplica();
        if (!replica || attempt >= MAX_TRIES) {
          report.abandoned++;
          break;
        }
        if (attempt > 0) report.retries++;
        const result = await callChat(replica.gateway.url, call);
        if (result.networkError) {
          report.networkErrors++;
          replica.up = false;
        } else if (result.answer?.complete) {
          report.latenciesMs.push(result.ms);
          report.acknowledged.push({
            call,
            replica: replica.name,
            text: result.answer.text,
            costRao: BigInt(result.headers?.get('x-taogate-cost-rao') ?? '0'),
          });
          break;
        } else if (result.answer?.error?.code === 'server_shutting_down') report.cutStreams++;
        else if (!isRetryable(result.answer)) {
          report.abandoned++;
          break;
        }
        await sleep(attempt === 0 ? 50 : 250);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  clearInterval(ticker);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

function isRetryable(answer: ChatAnswer | undefined): boolean {
  return answer === undefined || answer.status === 409 || answer.status === 429 || answer.status >= 500;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
