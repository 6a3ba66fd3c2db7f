import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses Prometheus text exposition (format 0.0.4): `# HELP`/`# TYPE` comments and samples with optional
 * labels; throws on any other line, on a sample without a TYPE, or on a value that is not a number.
 */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) typed.add(type[1]!);
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    const name = match[1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(name) && !typed.has(family)) throw new Error(`sample without a TYPE: ${line}`);
    const value = Number(match[3]!.replace('+Inf', 'Infinity'));
    if (Number.isNaN(value)) throw new Error(`not a number: ${line}`);
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Parses a Server-Timing header (W3C): `name;dur=1.2;desc="…"` entries, comma-separated. */
function parseServerTiming(header: string): { name: string; dur?: number; desc?: string }[] {
  return header.split(/,\s*/).map((entry) => {
    const [name, ...params] = entry.split(';');
    expect(name).toMatch(/^[\w-]+$/);
    const metric: { name: string; dur?: number; desc?: string } = { name: name! };
    for (const param of params) {
      const [key, value] = param.split('=') as [string, string];
      if (key === 'dur') metric.dur = Number(value);
      else if (key === 'desc') metric.desc = /^"(.*)"$/.exec(value)![1];
      else throw new Error(`unknown Server-Timing parameter ${param}`);
    }
    if (metric.dur !== undefined) expect(metric.dur).toBeGreaterThanOrEqual(0);
    return metric;
  });
}

describe('metrics and timings', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { TAOGATE_CACHE: 'off' } });
  });
  afterAll(() => stack.close());

  async function scrape(): Promise<Sample[]> {
    const response = await fetch(`${stack.gateway.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return parsePrometheus(await response.text());
  }

  it('expose per-subnet request counts and latency histograms that agree with the traffic sent', async () => {
    for (let i = 0; i < 5; i++) {
      await stack.client.chat.completions.create({
        model: 'sn1/apex-chat',
        messages: [{ role: 'user', content: 'x' }],
      });
    }
    for (let i = 0; i < 3; i++) {
      await stack.client.completions.create({ model: 'sn18/cortex-chat', prompt: 'y' });
    }
    await stack.client.chat.completions
      .create({ model: 'sn9/none', messages: [{ role: 'user', content: 'x' }] })
      .catch(() => {});
    await stack.client.embeddings.create({ model: 'sn5/kaito-embed', input: ['a', 'b'] });

    const samples = await scrape();
    const find = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    const httpCount = (route: string, status: string, netuid: string) =>
      find('taogate_http_request_duration_seconds_count', { route, status, netuid })?.value;
    expect(httpCount('/v1/chat/completions', '200', '1')).toBe(5);
    expect(httpCount('/v1/completions', '200', '18')).toBe(3);
    expect(httpCount('/v1/chat/completions', '404', 'none')).toBe(1);

    // Per subnet and model: requests, latency and time-to-first-token histograms, token counts.
    const sn1 = { netuid: '1', model: 'sn1/apex-chat' };
    expect(find('taogate_model_requests_total', sn1)?.value).toBe(5);
    expect(find('taogate_model_request_duration_seconds_count', sn1)?.value).toBe(5);
    expect(find('taogate_model_request_duration_seconds_bucket', { ...sn1, le: '+Inf' })?.value).toBe(5);
    expect(find('taogate_model_time_to_first_token_seconds_count', sn1)?.value).toBe(5);
    expect(find('taogate_model_tokens_total', { ...sn1, type: 'output' })?.value).toBeGreaterThan(0);
    expect(
      find('taogate_model_request_duration_seconds_count', { netuid: '18', model: 'sn18/cortex-chat' })
        ?.value,
    ).toBe(3);
    expect(find('taogate_model_requests_total', { netuid: '5', model: 'sn5/kaito-embed' })?.value).toBe(1);
    const sn1Buckets = samples.filter(
      (s) => s.name === 'taogate_model_request_duration_seconds_bucket' && s.labels.netuid === '1',
    );
    expect(sn1Buckets.map((s) => s.value)).toEqual([...sn1Buckets.map((s) => s.value)].sort((a, b) => a - b));

    // Upstream attempts by outcome and incentive-rank bucket, one per request here (healthy miners).
    const sn1Attempts = samples
      .filter((s) => s.name === 'taogate_upstream_attempts_total' && s.labels.netuid === '1')
      .reduce((sum, s) => sum + (s.labels.outcome === 'answered' ? s.value : 0), 0);
    expect(sn1Attempts).toBe(5);
    expect(find('taogate_upstream_first_chunk_seconds_count', { netuid: '1' })).toBeDefined();
    // Gauges read at scrape time: breakers per state, calls open, requests in flight.
    expect(find('taogate_circuit_breakers', { netuid: '1', state: 'closed' })?.value).toBeGreaterThan(0);
    expect(find('taogate_upstream_in_flight', { netuid: '1' })?.value).toBe(0);
    expect(samples.some((s) => s.name === 'taogate_http_requests_in_flight')).toBe(true);
    expect(samples.some((s) => s.name === 'taogate_process_resident_memory_bytes')).toBe(true);
  });

  it('keeps label values bounded: an unknown model is never a label', async () => {
    await stack.client.chat.completions
      .create({ model: 'sn1/made-up-model-xyz', messages: [{ role: 'user', content: 'x' }] })
      .catch(() => {});
    const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
    expect(text).not.toContain('made-up-model-xyz');
  });

  it('send a parseable Server-Timing header with the gateway, queue and each upstream step', async () => {
    const { response } = await stack.client.chat.completions
      .create({ model: 'sn4/targon-chat', messages: [{ role: 'user', content: 'x' }] })
      .withResponse();
    const timing = parseServerTiming(response.headers.get('server-timing')!);
    const byName = new Map(timing.map((metric) => [metric.name, metric]));
    // `cache` says how the cache took the request (here: bypass, it is off); then the request's steps.
    expect([...byName.keys()]).toEqual(['cache', 'queue', 'attempt-1', 'upstream', 'gateway']);
    expect(byName.get('cache')!.desc).toBe('bypass');
    expect(byName.get('attempt-1')!.desc).toBe(`${response.headers.get('x-taogate-miner')} answered`);
    const gateway = byName.get('gateway')!.dur!;
    expect(byName.get('upstream')!.dur!).toBeLessThanOrEqual(gateway);
    expect(byName.get('queue')!.dur! + byName.get('upstream')!.dur!).toBeCloseTo(gateway, 0);
  });

  it('send Server-Timing with a streamed answer too, timed to its first chunk', async () => {
    const { data: stream, response } = await stack.client.chat.completions
      .create({ model: 'sn18/cortex-chat', stream: true, messages: [{ role: 'user', content: 'x' }] })
      .withResponse();
    for await (const _ of stream);
    const timing = parseServerTiming(response.headers.get('server-timing')!);
    expect(timing.map((metric) => metric.name)).toEqual([
      'cache',
      'queue',
      'attempt-1',
      'upstream',
      'gateway',
    ]);
    expect(timing[2]!.desc).toBe(`${response.headers.get('x-taogate-miner')} answered`);
  });

  it('send Server-Timing on every response, errors and non-API routes included, with a request id', async () => {
    for (const [path, init] of [
      ['/healthz', {}],
      ['/metrics', {}],
      ['/v1/models', {}],
      ['/v1/nowhere', {}],
      ['/v1/chat/completions', { method: 'POST', body: '{"model":' }],
    ] as const) {
      const response = await fetch(`${stack.gateway.url}${path}`, init);
      const names = parseServerTiming(response.headers.get('server-timing')!).map((m) => m.name);
      expect(names).toContain('gateway');
      expect(response.headers.get('x-request-id')).toMatch(/^[\w-]{36}$/);
    }
  });

  it('echo a sane x-request-id and replace one that is not', async () => {
    const echoed = await fetch(`${stack.gateway.url}/healthz`, { headers: { 'x-request-id': 'job-42.a' } });
    expect(echoed.headers.get('x-request-id')).toBe('job-42.a');
    const replaced = await fetch(`${stack.gateway.url}/healthz`, {
      headers: { 'x-request-id': 'bad id\twith tabs' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('trace nothing while tracing is off: no SDK, a no-op tracer, no traceparent sent upstream', async () => {
    const upstreamHeaders: string[] = [];
    // The client's own fetch to the gateway shows on this channel too (Node's fetch is undici): skip it.
    const onRequest = (message: unknown) => {
      const { origin, headers } = (message as { request: { origin: string; headers: string[] | string } })
        .request;
      if (origin !== stack.gateway.url) upstreamHeaders.push(String(headers).toLowerCase());
    };
    subscribe('undici:request:create', onRequest);
    try {
      await stack.client.chat.completions.create(
        { model: 'sn1/apex-chat', messages: [{ role: 'user', content: 'untraced' }] },
        { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } },
      );
    } finally {
      unsubscribe('undici:request:create', onRequest);
    }
    expect(upstreamHeaders.length).toBeGreaterThan(0);
    expect(upstreamHeaders.some((headers) => headers.includes('traceparent'))).toBe(false);
    expect(trace.getTracer('taogate').startSpan('probe').isRecording()).toBe(false);
  });
});
