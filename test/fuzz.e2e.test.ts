import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { expectOpenAIError } from './hostile-expectations.ts';

/** At least 10 000 in CI (the bar); more with TAOGATE_FUZZ_RUNS for a longer hunt. */
const RUNS = Number(process.env.TAOGATE_FUZZ_RUNS ?? 10_000);

// --- values that go anywhere a field goes -------------------------------------------------------------

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  // Any UTF-16 code unit, lone surrogates included: they must survive signing and hashing, or be refused.
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);
const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 0.5, 1, 2, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308),
);
const anything: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  text,
  number,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
);
const unknownFields = fc.dictionary(fc.string({ maxLength: 12 }), anything, { maxKeys: 3 });

/** Removes a field, where a mutation says so. */
const DELETE = Symbol('delete');

/**
 * Requests per endpoint: a valid one, then up to three mutations (a field set to anything, or removed),
 * plus unknown fields, so that answers and refusals both come often, and every refusal has one cause.
 */
function requests(valid: Record<string, fc.Arbitrary<unknown>>, required: string[]) {
  const mutation = fc.tuple(fc.constantFrom(...Object.keys(valid)), fc.oneof(anything, fc.constant(DELETE)));
  return fc
    .tuple(fc.record(valid, { requiredKeys: required }), fc.array(mutation, { maxLength: 3 }), unknownFields)
    .map(([request, mutations, unknown]) => {
      const mutated: Record<string, unknown> = { ...unknown, ...request };
      for (const [field, value] of mutations) {
        if (value === DELETE) delete mutated[field];
        else mutated[field] = value;
      }
      return mutated;
    });
}

// --- request bodies, per endpoint -----------------------------------------------------------------------

const sampling = {
  stream: fc.boolean(),
  stream_options: fc.record({ include_usage: fc.boolean() }, { requiredKeys: [] }),
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  top_p: fc.double({ min: 0, max: 1, noNaN: true }),
  max_tokens: fc.integer({ min: 1, max: 100_000 }),
  seed: fc.integer(),
  n: fc.constant(1),
  user: text,
  taogate: fc.record({ fanout: fc.integer({ min: 1, max: 2 }) }, { requiredKeys: [] }),
};

const part = fc.record({ type: fc.constant('text'), text });
const message = fc.record(
  {
    role: fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool'),
    content: fc.oneof(text, fc.array(part, { minLength: 1, maxLength: 3 }), fc.constant(null)),
    name: text,
  },
  { requiredKeys: ['role', 'content'] },
);
const userLast = fc
  .tuple(fc.array(message, { maxLength: 3 }), text)
  .map(([earlier, content]) => [...earlier, { role: 'user', content }]);

const ENDPOINTS = [
  {
    path: '/v1/chat/completions',
    body: requests(
      {
        model: fc.constantFrom('sn1/apex-chat', 'sn4/targon-chat', 'sn18/cortex-chat', 'sn61/apex-openai'),
        messages: fc.oneof(userLast, fc.array(message, { minLength: 1, maxLength: 4 })),
        max_completion_tokens: fc.integer({ min: 1, max: 100_000 }),
        ...sampling,
      },
      ['model', 'messages'],
    ),
  },
  {
    path: '/v1/completions',
    body: requests(
      {
        model: fc.constantFrom('sn1/apex-chat', 'sn4/targon-chat', 'sn61/apex-openai'),
        prompt: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 1 })),
        echo: fc.constant(false),
        logprobs: fc.constant(null),
        best_of: fc.constant(1),
        suffix: fc.constant(null),
        ...sampling,
      },
      ['model', 'prompt'],
    ),
  },
  {
    path: '/v1/embeddings',
    body: requests(
      {
        model: fc.constantFrom('sn61/apex-embed', 'sn4/targon-embed', 'unknown'),
        input: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 4 })),
        encoding_format: fc.constantFrom('float', 'base64'),
        dimensions: fc.integer({ min: 1, max: 1024 }),
        user: text,
      },
      ['model', 'input'],
    ),
  },
  {
    path: '/v1/images/generations',
    body: requests(
      {
        model: fc.constantFrom('sn19/image', 'unknown'),
        prompt: text,
        n: fc.integer({ min: 1, max: 2 }),
        size: fc.constantFrom('256x256', '512x512'),
        response_format: fc.constantFrom('b64_json', 'url'),
      },
      ['model', 'prompt'],
    ),
  },
] as const;

/** A JSON body as bytes, sometimes damaged: cut short, a byte changed, or raw bytes instead. */
function wire(json: fc.Arbitrary<unknown>): fc.Arbitrary<string | Uint8Array> {
  const serialised = json.map((value) => JSON.stringify(value));
  return fc.oneof(
    { weight: 6, arbitrary: serialised },
    {
      weight: 1,
      arbitrary: fc.tuple(serialised, fc.nat()).map(([s, at]) => s.slice(0, at % (s.length + 1))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          serialised,
          fc.nat(),
          fc.constantFrom('{', '}', '"', '\\', ',', ':', '[', 'NaN', '1e999', '\u0000'),
        )
        .map(([s, at, insert]) => s.slice(0, at % (s.length + 1)) + insert + s.slice(at % (s.length + 1))),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
}

const headers = fc.option(
  fc.record(
    {
      'content-type': fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        '',
      ),
      'x-taogate-fanout': fc.oneof(
        fc.constantFrom('1', '2', '0', '-1', '1e3', 'NaN', ' 2 '),
        fc.string({ maxLength: 8 }),
      ),
      'x-taogate-cache': fc.string({ maxLength: 8 }),
    },
    { requiredKeys: [] },
  ),
  { nil: {}, freq: 2 },
);

describe('fuzzed requests', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      localnet: { minersPerSubnet: 2, behaviour: () => ({ latencyMs: 0, jitterMs: 0, chunkDelayMs: 0 }) },
    });
  });
  afterAll(() => stack?.close());

  it(`answer ${RUNS} generated requests over every endpoint with a valid answer or a 4xx, never a 5xx`, async () => {
    const served: string[] = [];
    for (const endpoint of ENDPOINTS) {
      const probe = await stack.gateway.app.request(endpoint.path, { method: 'POST', body: '{}' });
      if (((await probe.json()) as { error?: { code?: string } }).error?.code !== 'unknown_url')
        served.push(endpoint.path);
    }
    const statuses = new Map<number, number>();
    const cases = fc.oneof(
      ...ENDPOINTS.filter((e) => served.includes(e.path)).map((endpoint) =>
        fc.record({ path: fc.constant(endpoint.path), body: wire(endpoint.body), headers }),
      ),
    );

    await fc.assert(
      fc.asyncProperty(cases, async ({ path, body, headers }) => {
        const response = await stack.gateway.app.request(path, { method: 'POST', body, headers });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const payload = await response.text();
        if (response.status !== 200) {
          expect(response.status, payload).toBeGreaterThanOrEqual(400);
          expect(response.status, payload).toBeLessThan(500);
          expectOpenAIError(JSON.parse(payload));
          return;
        }
        if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
          // A stream that began must end in [DONE], not in an error event.
          expect(payload).not.toMatch(/^data: \{"error"/m);
          expect(payload.trimEnd().endsWith('data: [DONE]')).toBe(true);
        } else {
          expect(JSON.parse(payload)).toBeTypeOf('object');
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // The mix is worth something only if it reaches both sides: answers and refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS / 4);
  }, 120_000);
});
