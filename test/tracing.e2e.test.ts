import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTracing, type Tracing } from '../telemetry/index.ts';
import { type Stack, startStack } from './harness.ts';

const CLIENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';
const HEDGE_WARM_UP = 10;

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let stack: Stack;
  /** `traceparent` headers of the requests the gateway sent to miners (undici's diagnostics channel). */
  const upstreamTraceparents: string[] = [];
  const onRequest = (message: unknown) => {
    const headers = (message as { request: { headers: string[] | string } }).request.headers;
    const lines = Array.isArray(headers) ? headers : headers.split('\r\n').flatMap((l) => l.split(': '));
    const index = lines.findIndex((name) => name.toLowerCase() === 'traceparent');
    if (index >= 0) upstreamTraceparents.push(lines[index + 1]!.trim());
  };

  beforeAll(async () => {
    tracing = await startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    subscribe('undici:request:create', onRequest);
    stack = await startStack({
      env: {
        TAOGATE_TRACING: 'on',
        TAOGATE_HEDGE_MIN_SAMPLES: String(HEDGE_WARM_UP),
        TAOGATE_RETRY_BUDGET_FLOOR: '1000',
      },
      // sn18's top miner always fails: a request there makes a failed attempt, then a failover.
      localnet: { behaviour: (netuid, uid) => (netuid === 18 && uid === 1 ? { errorRate: 1 } : undefined) },
    });
  });
  afterAll(async () => {
    unsubscribe('undici:request:create', onRequest);
    await stack?.close();
    await tracing?.shutdown();
  });

  const attributes = (span: ReadableSpan) => span.attributes;
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it('makes a server span per request, child of the client traceparent, with GenAI attributes', async () => {
    exporter.reset();
    const { response } = await stack.client.chat.completions
      .create(
        { model: 'sn1/apex-chat', messages: [{ role: 'user', content: 'trace me' }] },
        { headers: { traceparent: `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01` } },
      )
      .withResponse();
    expect(response.status).toBe(200);
    await spansSettled(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.SERVER));

    const spans = exporter.getFinishedSpans();
    const server = spans.find((span) => span.kind === SpanKind.SERVER)!;
    expect(server.name).toBe('POST /v1/chat/completions');
    expect(server.spanContext().traceId).toBe(CLIENT_TRACE_ID);
    expect(parentOf(server)).toBe(CLIENT_SPAN_ID);
    expect(attributes(server)).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'http.response.status_code': 200,
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'bittensor',
      'gen_ai.request.model': 'sn1/apex-chat',
      'gen_ai.response.model': 'sn1/apex-chat',
      'taogate.request_id': response.headers.get('x-request-id'),
    });
    expect(attributes(server)['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(attributes(server)['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    // gen_ai.provider.name replaces the deprecated gen_ai.system: one attribute per fact.
    expect(attributes(server)).not.toHaveProperty('gen_ai.system');

    const attempts = spans.filter((span) => span.kind === SpanKind.CLIENT);
    expect(attempts).toHaveLength(1);
    const [attempt] = attempts;
    expect(attempt!.name).toBe('chat sn1/apex-chat');
    expect(parentOf(attempt!)).toBe(server.spanContext().spanId);
    expect(attempt!.spanContext().traceId).toBe(CLIENT_TRACE_ID);
    const miner = response.headers.get('x-taogate-miner')!; // sn1/uid3
    expect(attributes(attempt!)).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'sn1/apex-chat',
      'taogate.netuid': 1,
      'taogate.miner.uid': Number(miner.split('uid')[1]),
      'taogate.protocol': 'synapse',
      'taogate.attempt': 1,
      'taogate.hedge': false,
      'taogate.outcome': 'answered',
    });
    expect(attributes(attempt!)['taogate.miner.hotkey']).toMatch(/^5/);
    // Only fan-out calls say so; the request's cache result is on the server span, not on each attempt.
    expect(attributes(attempt!)).not.toHaveProperty('taogate.fanout');
    expect(attributes(attempt!)).not.toHaveProperty('taogate.cache');
    expect(attributes(attempt!)['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
  });

  it('sends the attempt span as traceparent to the miner', async () => {
    exporter.reset();
    upstreamTraceparents.length = 0;
    await stack.client.chat.completions.create({
      model: 'sn1/apex-chat',
      messages: [{ role: 'user', content: 'propagate' }],
    });
    await spansSettled(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CLIENT));
    const attempt = exporter.getFinishedSpans().find((span) => span.kind === SpanKind.CLIENT)!;
    const { traceId, spanId } = attempt.spanContext();
    expect(upstreamTraceparents).toContain(`00-${traceId}-${spanId}-01`);
  });

  it('names the GenAI operation of each endpoint: embeddings', async () => {
    exporter.reset();
    await stack.client.embeddings.create({ model: 'sn5/kaito-embed', input: 'trace an embedding' });
    await spansSettled(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.SERVER));
    const spans = exporter.getFinishedSpans();
    const server = spans.find((span) => span.kind === SpanKind.SERVER)!;
    expect(attributes(server)).toMatchObject({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.request.model': 'sn5/kaito-embed',
    });
    expect(attributes(server)['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(attributes(server)).not.toHaveProperty('gen_ai.usage.output_tokens');
    const attempt = spans.find((span) => span.kind === SpanKind.CLIENT)!;
    expect(attempt.name).toBe('embeddings sn5/kaito-embed');
    expect(parentOf(attempt)).toBe(server.spanContext().spanId);
  });

  it('makes one child span per attempt: a failed one, then the failover that answered', async () => {
    // The broken miner has the top incentive, so most requests try it first; send until one did.
    for (let i = 0; i < 20; i++) {
      exporter.reset();
      await stack.client.chat.completions.create({
        model: 'sn18/cortex-chat',
        messages: [{ role: 'user', content: `failover ${i}` }],
      });
      await spansSettled(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.SERVER));
      const attempts = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT);
      if (attempts.length < 2) continue;
      const server = exporter.getFinishedSpans().find((span) => span.kind === SpanKind.SERVER)!;
      const byNumber = attempts.sort(
        (a, b) => Number(attributes(a)['taogate.attempt']) - Number(attributes(b)['taogate.attempt']),
      );
      // A busy machine can make a healthy miner's call late enough to hedge: only the failover is wanted.
      if (attributes(byNumber[0]!)['taogate.miner.uid'] !== 1) continue;
      expect(byNumber.map((span) => parentOf(span))).toEqual([
        server.spanContext().spanId,
        server.spanContext().spanId,
      ]);
      expect(attributes(byNumber[0]!)).toMatchObject({
        'taogate.attempt': 1,
        'taogate.miner.uid': 1,
        'taogate.outcome': 'failed',
        'error.type': 'upstream_rejected',
      });
      expect(attributes(byNumber[1]!)).toMatchObject({ 'taogate.attempt': 2, 'taogate.outcome': 'answered' });
      expect(attributes(server)['taogate.attempt']).toBe(2);
      return;
    }
    throw new Error('no request tried the broken miner first in 20 tries');
  });

  it('marks the second call of a hedged request as a hedge, and the slow first one as cancelled', async () => {
    for (let i = 0; i < HEDGE_WARM_UP; i++) {
      await stack.client.chat.completions.create({
        model: 'sn4/targon-chat',
        messages: [{ role: 'user', content: `warm ${i}` }],
      });
    }
    const slow = stack.localnet.miner(4, 1);
    slow.behaviour = { ...slow.behaviour, latencyMs: 2000 };
    try {
      // The slow miner has the top incentive: about every other request goes to it first.
      for (let i = 0; i < 30; i++) {
        exporter.reset();
        const { response } = await stack.client.chat.completions
          .create({ model: 'sn4/targon-chat', messages: [{ role: 'user', content: `hedge ${i}` }] })
          .withResponse();
        if (response.headers.get('x-taogate-hedged') !== '1') continue;
        await spansSettled(
          () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT).length === 2,
        );
        const attempts = exporter
          .getFinishedSpans()
          .filter((span) => span.kind === SpanKind.CLIENT)
          .sort(
            (a, b) => Number(attributes(a)['taogate.attempt']) - Number(attributes(b)['taogate.attempt']),
          );
        expect(attempts.map((span) => attributes(span)['taogate.hedge'])).toEqual([false, true]);
        // On a busy machine a healthy miner's call can be hedged too; the slow miner's is the one to check.
        if (attributes(attempts[0]!)['taogate.miner.uid'] !== 1) continue;
        expect(attributes(attempts[0]!)['taogate.outcome']).toBe('cancelled');
        expect(attributes(attempts[1]!)['taogate.outcome']).toBe('answered');
        const timing = response.headers.get('server-timing')!;
        expect(timing).toMatch(/attempt-2;dur=[\d.]+;desc="sn4\/uid\d hedge answered"/);
        return;
      }
      throw new Error('no request was hedged in 30 tries');
    } finally {
      slow.behaviour = { ...slow.behaviour, latencyMs: 0 };
    }
  });

  it('marks fan-out calls as fan-out, not hedges', async () => {
    exporter.reset();
    await stack.client.chat.completions.create({
      model: 'sn1/apex-chat',
      messages: [{ role: 'user', content: 'best of three' }],
      // @ts-expect-error: taogate's own request field
      taogate: { fanout: 3 },
    });
    await spansSettled(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.SERVER));
    const attempts = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT);
    expect(attempts).toHaveLength(3);
    for (const attempt of attempts) {
      expect(attributes(attempt)).toMatchObject({ 'taogate.fanout': true, 'taogate.hedge': false });
    }
  });
});

/** Spans end when the response's last byte is sent, just after the client has read it. */
function spansSettled(done: () => boolean): Promise<void> {
  return vi.waitFor(() => expect(done()).toBe(true), { timeout: 5000, interval: 5 });
}
