import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { always, HEALTHY, type StagedFault } from '../localnet/index.ts';
import { type Stack, startStack } from './harness.ts';

const DEADLINE_MS = 1500;

/** The three ways a miner's answer is framed on localnet: each fault is judged against each. */
const SUBNETS = [
  { model: 'sn1/apex-chat', netuid: 1, framing: 'raw text stream (streaming synapse)' },
  { model: 'sn4/targon-chat', netuid: 4, framing: 'whole JSON synapse' },
  { model: 'sn61/apex-openai', netuid: 61, framing: 'OpenAI SSE behind Epistula' },
] as const;

type Subnet = (typeof SUBNETS)[number];

/**
 * What the client sees when the first miner asked has the fault (the second miner is healthy):
 * - `failover`: the healthy miner's answer, as if nothing happened;
 * - `own answer`: the faulty miner's answer, because its protocol gives the gateway nothing to reject;
 * - `short answer`: a prefix of the faulty miner's answer: a raw text stream has no end marker, so a cut
 *   one cannot be told from a short one;
 * - `broken stream`: the text so far, then an OpenAI error event (a stream cannot change miner once its
 *   first chunk went out), at the latest at the request's deadline.
 */
type Expected = 'failover' | 'own answer' | 'short answer' | 'broken stream';

function expected(fault: StagedFault, subnet: Subnet, stream: boolean): Expected {
  const streamed = subnet.netuid !== 4;
  switch (fault) {
    case 'hang': // hedged once the first chunk is late
    case 'reset':
    case 'redirect': // never followed: the redirect is the miner's answer, and a refusal
    case 'error':
    case 'garbage':
    case 'mislabelled':
      return 'failover';
    case 'impostor': // synapse answers name their axon's hotkey; Epistula answers name nobody
      return subnet.netuid === 61 ? 'own answer' : 'failover';
    case 'truncated':
      if (subnet.netuid === 1) return 'short answer';
      return streamed && stream ? 'broken stream' : 'failover';
    case 'huge':
    case 'drop':
      // Clients waiting for a whole answer have been sent nothing yet: the gateway reads it whole and fails over.
      return streamed && stream ? 'broken stream' : 'failover';
    case 'endless':
      // An answer that never ends is late, and hedged, as long as nothing was sent to the client; a
      // stream already under way is cut at the deadline.
      return streamed && stream ? 'broken stream' : 'failover';
  }
}

const FAULTS: StagedFault[] = [
  'hang',
  'reset',
  'redirect',
  'error',
  'garbage',
  'truncated',
  'mislabelled',
  'impostor',
  'huge',
  'endless',
  'drop',
];

describe('faulty miners', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        TAOGATE_DEADLINE_MS: String(DEADLINE_MS),
        TAOGATE_MAX_ATTEMPTS: '2',
        // Each case meets the fault on purpose: keep the faulty miner in play, and pick miners evenly.
        TAOGATE_ROUTING_WEIGHTS: 'uniform',
        TAOGATE_RERANKER_MODEL: 'off',
        TAOGATE_BREAKER_FAILURES: '1000',
        TAOGATE_RETRY_BUDGET_FLOOR: '100000',
        TAOGATE_HEDGE_MIN_SAMPLES: '1',
        TAOGATE_HEDGE_MIN_MS: '150',
      },
      localnet: { minersPerSubnet: 2 },
    });
    // One answer per subnet and mode gives the hedge its first sample (first chunks, and whole answers).
    for (const subnet of SUBNETS) {
      await ask(subnet, false, 'warm up');
      await ask(subnet, true, 'warm up');
    }
  });
  afterAll(() => stack?.close());

  for (const fault of FAULTS) {
    for (const subnet of SUBNETS) {
      for (const stream of [false, true]) {
        const outcome = expected(fault, subnet, stream);
        it(`${fault} on a ${subnet.framing}, ${stream ? 'streamed' : 'whole'} to the client: ${outcome}`, async () => {
          const faulty = stack.localnet.miner(subnet.netuid, 1);
          faulty.behaviour = { ...HEALTHY, ...always(fault) };
          try {
            // Miners are picked evenly: ask until the faulty one is asked first (or hedged to).
            for (let i = 0; i < 40; i++) {
              const before = faulty.received;
              const started = performance.now();
              const answer = await ask(subnet, stream, `case ${i}`);
              const elapsed = performance.now() - started;
              // Asked only as a hedge that lost to the healthy miner: the fault was never in the way.
              const hedgedPast = answer.hedged && answer.miner === `sn${subnet.netuid}/uid2`;
              if (faulty.received === before || (hedgedPast && outcome !== 'failover')) {
                expect(answer).toMatchObject({
                  status: 200,
                  text: `sn${subnet.netuid} miner 2 heard: case ${i}`,
                });
                continue;
              }
              check(outcome, answer, subnet, `case ${i}`);
              expect(elapsed).toBeLessThan(DEADLINE_MS + 1500);
              // Whatever the fault, the gateway does not leave the connection to the miner open.
              await vi.waitFor(() => expect(faulty.inFlight).toBe(0), { timeout: 1000, interval: 10 });
              return;
            }
            throw new Error('the faulty miner was never asked');
          } finally {
            faulty.behaviour = { ...HEALTHY };
          }
        });
      }
    }
  }

  it('keeps answering while the chain node drops every connection and refuses new ones', async () => {
    const node = stack.localnet.chain;
    const load = Array.from({ length: 40 }, (_, i) => ask(SUBNETS[i % 3]!, i % 2 === 0, `load ${i}`));
    node.disconnectAll();
    await node.stopListening();
    try {
      const answers = await Promise.all(load);
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      const during = await Promise.all(SUBNETS.map((subnet) => ask(subnet, false, 'during outage')));
      expect(during.map((answer) => answer.status)).toEqual([200, 200, 200]);
      // The last metagraph still routes, so the gateway stays ready.
      expect((await fetch(`${stack.gateway.url}/readyz`)).status).toBe(200);
    } finally {
      await node.startListening();
    }
  });

  interface Answer {
    status: number;
    text: string;
    miner: string | null;
    hedged?: boolean;
    /** The error (body or stream event) the client got, if any. */
    error?: { code?: string | null; message: string };
  }

  async function ask(subnet: Subnet, stream: boolean, content: string): Promise<Answer> {
    const request = { model: subnet.model, messages: [{ role: 'user' as const, content }] };
    try {
      if (!stream) {
        const { data, response } = await stack.client.chat.completions.create(request).withResponse();
        return {
          status: 200,
          text: data.choices[0]?.message.content ?? '',
          miner: response.headers.get('x-taogate-miner'),
          hedged: response.headers.has('x-taogate-hedged'),
        };
      }
      const { data, response } = await stack.client.chat.completions
        .create({ ...request, stream: true })
        .withResponse();
      let text = '';
      try {
        for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
      } catch (error) {
        const apiError = error as InstanceType<typeof OpenAI.APIError>;
        return {
          status: 200,
          text,
          miner: response.headers.get('x-taogate-miner'),
          hedged: response.headers.has('x-taogate-hedged'),
          error: apiError.error as Answer['error'],
        };
      }
      return {
        status: 200,
        text,
        miner: response.headers.get('x-taogate-miner'),
        hedged: response.headers.has('x-taogate-hedged'),
      };
    } catch (error) {
      if (!(error instanceof OpenAI.APIError)) throw error;
      return {
        status: error.status ?? 0,
        text: '',
        miner: null,
        error: { code: error.code, message: error.message },
      };
    }
  }

  function check(outcome: Expected, answer: Answer, subnet: Subnet, content: string): void {
    const own = `sn${subnet.netuid} miner 1 heard: ${content}`;
    switch (outcome) {
      case 'failover':
        expect(answer).toMatchObject({ status: 200, miner: `sn${subnet.netuid}/uid2` });
        expect(answer.text).toBe(`sn${subnet.netuid} miner 2 heard: ${content}`);
        expect(answer.error).toBeUndefined();
        return;
      case 'own answer':
        expect(answer).toMatchObject({ status: 200, text: own, miner: `sn${subnet.netuid}/uid1` });
        return;
      case 'short answer':
        expect(answer).toMatchObject({ status: 200, miner: `sn${subnet.netuid}/uid1` });
        expect(answer.error).toBeUndefined();
        expect(own.startsWith(answer.text)).toBe(true);
        return;
      case 'broken stream':
        expect(answer).toMatchObject({ status: 200, miner: `sn${subnet.netuid}/uid1` });
        expect(answer.error?.code).toBe('upstream_failed');
        expect(answer.error?.message).toMatch(/failed mid-stream/);
        return;
    }
  }
});
