import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

/** Parses Prometheus text exposition into samples; throws on a line that is neither a comment nor a sample. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

describe('metrics and timings', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

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

    const response = await fetch(`${stack.gateway.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parsePrometheus(await response.text());
    const count = (route: string, status: string, netuid: string) =>
      samples.find(
        (s) =>
          s.name === 'taogate_http_request_duration_seconds_count' &&
          s.labels.route === route &&
          s.labels.status === status &&
          s.labels.netuid === netuid,
      )?.value;
    expect(count('/v1/chat/completions', '200', '1')).toBe(5);
    expect(count('/v1/completions', '200', '18')).toBe(3);
    expect(count('/v1/chat/completions', '404', 'none')).toBe(1);
    expect(
      samples.some(
        (s) => s.name === 'taogate_http_request_duration_seconds_bucket' && s.labels.le === '+Inf',
      ),
    ).toBe(true);
    expect(samples.some((s) => s.name === 'taogate_process_resident_memory_bytes')).toBe(true);
  });

  it('send a parseable Server-Timing header with each answer', async () => {
    const { response } = await stack.client.chat.completions
      .create({ model: 'sn4/targon-chat', messages: [{ role: 'user', content: 'x' }] })
      .withResponse();
    expect(response.headers.get('server-timing')).toMatch(/^upstream;dur=\d+(\.\d+)?$/);
  });
});
