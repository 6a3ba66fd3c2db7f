// The soak's clients: a fixed number of workers, each sending one request after another until the end,
// judging every answer as an app would.

export interface TrafficOptions {
  baseURL: string;
  models: readonly string[];
  concurrency: number;
  until: number;
  /** Share of requests streamed (SSE). */
  streamShare: number;
  /** Sent as `Authorization: Bearer …` when the ledger is on. */
  apiKey?: string;
  /** A request not answered within this is a hang. */
  hangAfterMs: number;
  /** True while a store the gateway needs is down on purpose: 503 store_unavailable is then expected. */
  storeDown: () => boolean;
  random: () => number;
}

export interface Traffic {
  sent: number;
  succeeded: number;
  /** 503 store/ledger unavailable while a store was down on purpose: the right answer then, not a failure. */
  refusedDuringOutage: number;
  hangs: number;
  /** Failures by kind (`status 502 upstream_exhausted`, `stream error`, …), for the report. */
  failures: Map<string, number>;
  /** What the gateway told clients they paid (`usage.cost_rao`), summed. */
  costRao: bigint;
}

export async function runTraffic(options: TrafficOptions): Promise<Traffic> {
  const traffic: Traffic = {
    sent: 0,
    succeeded: 0,
    refusedDuringOutage: 0,
    hangs: 0,
    failures: new Map(),
    costRao: 0n,
  };
  const fail = (kind: string): void => {
    traffic.failures.set(kind, (traffic.failures.get(kind) ?? 0) + 1);
  };

  async function once(worker: number, n: number): Promise<void> {
    const model = options.models[Math.floor(options.random() * options.models.length)]!;
    const stream = options.random() < options.streamShare;
    const body = {
      model,
      messages: [
        { role: 'user', content: `soak ${worker}.${n} ${options.random().toString(36).slice(2, 8)}` },
      ],
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    traffic.sent++;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${options.baseURL}/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.hangAfterMs),
      });
      text = await response.text();
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        traffic.hangs++;
        return fail('hang');
      }
      return fail(`network ${(error as Error).message}`);
    }
    if (response.status !== 200) {
      const code = /"code":"([^"]+)"/.exec(text)?.[1] ?? 'no code';
      const storeRefusal = code === 'store_unavailable' || code === 'ledger_unavailable';
      if (response.status === 503 && storeRefusal && options.storeDown()) {
        traffic.refusedDuringOutage++;
        return;
      }
      // The message names the cause ("last: upstream_timeout …"); digits dropped so alike failures group.
      const message = (/"message":"([^"]{0,90})/.exec(text)?.[1] ?? '').replace(/\d+/g, '#');
      return fail(`status ${response.status} ${code}: ${message}`);
    }
    const verdict = stream ? judgeStream(text) : judgeWhole(text);
    // Whatever the verdict, what the answer says it cost is what the client was told it paid.
    traffic.costRao += verdict.costRao;
    if (verdict.failure === undefined) traffic.succeeded++;
    else fail(verdict.failure);
  }

  const workers = Array.from({ length: options.concurrency }, async (_, worker) => {
    for (let n = 0; Date.now() < options.until; n++) await once(worker, n);
  });
  await Promise.all(workers);
  return traffic;
}

/** What the answer said it cost, and what was wrong with it, if anything. */
type Verdict = { costRao: bigint; failure?: string };

function judgeWhole(text: string): Verdict {
  try {
    const answer = JSON.parse(text) as {
      choices?: { message?: { content?: string } }[];
      usage?: { cost_rao?: number | string };
    };
    const costRao = BigInt(answer.usage?.cost_rao ?? 0);
    const content = answer.choices?.[0]?.message?.content;
    if (typeof content !== 'string' || !content.includes('heard: soak'))
      return { costRao, failure: 'wrong answer' };
    return { costRao };
  } catch {
    return { costRao: 0n, failure: 'unparsable answer' };
  }
}

function judgeStream(text: string): Verdict {
  let content = '';
  let costRao = 0n;
  let done = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const data = line.slice(6);
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    const chunk = JSON.parse(data) as {
      error?: unknown;
      choices?: { delta?: { content?: string } }[];
      usage?: { cost_rao?: number | string } | null;
    };
    if (chunk.error) return { costRao, failure: 'stream error event' };
    content += chunk.choices?.[0]?.delta?.content ?? '';
    if (chunk.usage?.cost_rao !== undefined) costRao += BigInt(chunk.usage.cost_rao);
  }
  if (!done) return { costRao, failure: 'stream without [DONE]' };
  if (!content.includes('heard: soak')) return { costRao, failure: 'wrong streamed answer' };
  return { costRao };
}
