import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { always, HEALTHY, type StagedFault } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';

/** One request per task and protocol, as an app would send it. */
const REQUESTS = [
  { model: 'sn1/apex-chat', path: 'chat/completions', body: { messages: [{ role: 'user', content: 'hi' }] } },
  {
    model: 'sn4/targon-chat',
    path: 'chat/completions',
    body: { messages: [{ role: 'user', content: 'hi' }] },
  },
  {
    model: 'sn61/apex-openai',
    path: 'chat/completions',
    body: { messages: [{ role: 'user', content: 'hi' }] },
  },
  { model: 'sn5/kaito-embed', path: 'embeddings', body: { input: ['hi', 'there'] } },
  {
    model: 'sn23/niche-image',
    path: 'images/generations',
    body: { prompt: 'hi', response_format: 'b64_json' },
  },
];

// A raw text stream (a streaming synapse) has no end marker and no shape: a cut or an HTML page in it is
// still text. What it can get wrong is bytes that are not text, size, and failing outright.
const STREAM_FAULTS: StagedFault[] = ['garbage', 'huge', 'error', 'reset'];
// Everything else has a shape: a truncated, oversized, non-JSON or non-UTF-8 answer is caught.
const SHAPED_FAULTS: StagedFault[] = ['garbage', 'truncated', 'huge', 'mislabelled'];

describe('malformed answers from miners of every protocol and task', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        // Every miner gets its turn in one request, and no breaker or budget hides a verdict.
        TAOGATE_MAX_ATTEMPTS: '4',
        TAOGATE_BREAKER_FAILURES: '1000',
        TAOGATE_RETRY_BUDGET_FLOOR: '1000',
        TAOGATE_HEDGE: 'off',
        TAOGATE_CACHE: 'off',
      },
    });
  });
  afterAll(() => stack.close());

  const ask = ({ model, path, body }: (typeof REQUESTS)[number]) =>
    fetch(`${stack.baseURL}/${path}`, { method: 'POST', body: JSON.stringify({ model, ...body }) });

  function stage(netuid: number, faults: (StagedFault | 'healthy')[]): void {
    faults.forEach((fault, i) => {
      const behaviour = fault === 'healthy' ? {} : always(fault);
      stack.localnet.miner(netuid, i + 1).behaviour = { ...HEALTHY, latencyMs: 0, jitterMs: 0, ...behaviour };
    });
  }

  for (const request of REQUESTS) {
    const netuid = Number(request.model.slice(2, request.model.indexOf('/')));
    const faults = request.model === 'sn1/apex-chat' ? STREAM_FAULTS : SHAPED_FAULTS;

    it(`${request.model}: answers 502 (or falls back) after trying every miner, each sending a different bad answer (${faults.join(', ')})`, async () => {
      stage(netuid, faults);
      const before = [1, 2, 3, 4].map((uid) => stack.localnet.miner(netuid, uid).received);
      const response = await ask(request);
      if (request.model === 'sn1/apex-chat') {
        // SN1's profile falls back to SN61 once all of its own miners failed.
        expect(response.status).toBe(200);
        expect(response.headers.get('x-taogate-fallback')).toBe('sn61/apex-openai');
      } else {
        expect(response.status).toBe(502);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        expect(error.code).toBe('upstream_exhausted');
        expect(error.message).toMatch(/All 4 miners tried/);
      }
      const after = [1, 2, 3, 4].map((uid) => stack.localnet.miner(netuid, uid).received);
      expect(after.map((count, i) => count - before[i]!)).toEqual([1, 1, 1, 1]);
    });

    it(`${request.model}: still answers through the one good miner`, async () => {
      stage(netuid, [...faults.slice(0, 3), 'healthy']);
      const response = await ask(request);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-taogate-miner')).toBe(`sn${netuid}/uid4`);
    });
  }
});
