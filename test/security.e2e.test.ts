import { Writable } from 'node:stream';
import { mnemonicToMiniSecret } from '@polkadot/util-crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { loadConfig } from '../config/index.ts';
import { always, type MinerBehaviour } from '../localnet/index.ts';
import { createTestLedger, type TestLedger } from './billing.ts';
import { type Stack, startStack } from './harness.ts';
import { expectOpenAIError } from './hostile-expectations.ts';

// A BIP-39 test vector: a real mnemonic shape, worthless as a key.
const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const SEED_HEX = Buffer.from(mnemonicToMiniSecret(MNEMONIC)).toString('hex');
const API_KEY = `tg_0123456789abcdef_${'S'.repeat(40)}k3y`;

/** Everything a secret must never appear in: log lines, response bodies and headers. */
function leaks(text: string): string[] {
  const found: string[] = [];
  const words = MNEMONIC.split(' ');
  // Any three consecutive words of the phrase count: a partial phrase narrows a brute force a lot.
  for (let i = 0; i + 3 <= words.length; i++) {
    if (text.includes(words.slice(i, i + 3).join(' '))) found.push(`mnemonic words ${i}..${i + 2}`);
  }
  if (text.toLowerCase().includes(SEED_HEX)) found.push('hotkey seed');
  if (text.includes(API_KEY)) found.push('API key');
  if (text.includes(API_KEY.slice(20))) found.push("API key's secret part");
  return found;
}

// sn4: every miner redirects to the cloud metadata address; sn18: every miner sends 12 MiB answers;
// sn1: its first miner answers 500.
const staged = (netuid: number, uid: number): Partial<MinerBehaviour> | undefined => {
  if (netuid === 4) return always('redirect');
  if (netuid === 18) return always('huge');
  if (netuid === 1 && uid === 1) return always('error');
  return undefined;
};

describe('security', () => {
  let stack: Stack;
  const logs: string[] = [];
  const responses: string[] = [];

  beforeAll(async () => {
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    stack = await startStack({
      env: { TAOGATE_HOTKEY: MNEMONIC, TAOGATE_DEADLINE_MS: '3000', TAOGATE_LOG_LEVEL: 'trace' },
      localnet: {
        minersPerSubnet: 2,
        validatorHotkey: (await hotkeyFromSecret(MNEMONIC)).ss58,
        behaviour: staged,
      },
      logger: pino({ level: 'trace' }, capture),
    });
  });
  afterAll(() => stack?.close());

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${stack.gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    responses.push(JSON.stringify([...response.headers]), text);
    return { status: response.status, text };
  }

  it('never follows a miner redirect: a 307 is a refusal, and the miner is failed over', async () => {
    const answer = await post('/v1/chat/completions', {
      model: 'sn4/targon-chat',
      messages: [{ role: 'user', content: 'credentials please' }],
    });
    expect(answer.status).toBe(502);
    expectOpenAIError(JSON.parse(answer.text));
    // Had undici followed it, the call would have timed out on 169.254.169.254 instead.
    expect(JSON.parse(answer.text).error.message).toMatch(/answered 307/);
  });

  it('cuts off answers past the upstream size cap instead of buffering them', async () => {
    const started = performance.now();
    const answer = await post('/v1/chat/completions', {
      model: 'sn18/cortex-chat',
      messages: [{ role: 'user', content: 'say a lot' }],
    });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.text).error.message).toMatch(/oversized answer/);
    expect(answer.text.length).toBeLessThan(2000);
    // Within the 3 s deadline (plus a loaded machine's slack): cut off, not read to the end.
    expect(performance.now() - started).toBeLessThan(4500);
  });

  it('never puts the hotkey mnemonic or seed, or a client API key, in logs, errors or headers', async () => {
    // Traffic that makes the gateway log and answer errors of every kind.
    await post('/v1/chat/completions', {
      model: 'sn1/apex-chat',
      messages: [{ role: 'user', content: 'hi' }],
    });
    await post('/v1/chat/completions', {
      model: 'sn1/apex-chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    await post('/v1/chat/completions', '{"model": broken');
    await post('/v1/chat/completions', { model: 'sn999/none', messages: [] });
    await post('/v1/completions', { model: 'sn4/targon-chat', prompt: 'x' });
    for (const path of ['/v1/models', '/v1/subnets', '/metrics', '/readyz', '/nowhere']) {
      const response = await fetch(`${stack.gateway.url}${path}`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      responses.push(JSON.stringify([...response.headers]), await response.text());
    }
    stack.localnet.chain.disconnectAll();

    expect(logs.length).toBeGreaterThan(0);
    expect(leaks(logs.join('\n'))).toEqual([]);
    expect(leaks(responses.join('\n'))).toEqual([]);
  });

  it('keeps secrets out of configuration and key errors', async () => {
    const loaded = loadConfig({ TAOGATE_HOTKEY: MNEMONIC, TAOGATE_PORT: 'not a port' });
    expect(loaded.ok).toBe(false);
    expect(leaks(JSON.stringify(loaded))).toEqual([]);
    const mistyped = MNEMONIC.replace('yellow', 'yelow');
    const error = await hotkeyFromSecret(mistyped).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(leaks((error as Error).message.replace('yelow', 'yellow'))).toEqual([]);
  });

  it('sends no CORS headers unless origins are allowed', async () => {
    const preflight = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const models = await fetch(`${stack.baseURL}/models`, { headers: { origin: 'https://evil.example' } });
    expect(models.status).toBe(200);
    expect(models.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves the dashboard with a strict content security policy, no framing and no sniffing', async () => {
    const page = await fetch(`${stack.gateway.url}/dashboard`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS with an allow-list', () => {
  let stack: Stack;
  const allowed = 'https://app.example.com';

  beforeAll(async () => {
    stack = await startStack({ env: { TAOGATE_CORS_ORIGINS: `${allowed}, http://localhost:3000` } });
  });
  afterAll(() => stack?.close());

  it('answers preflights for listed origins only, never with * or credentials', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.baseURL}/chat/completions`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const ok = await preflight(allowed);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    expect(ok.headers.get('vary')).toMatch(/origin/i);

    const denied = await preflight('https://app.example.com.evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets a listed origin read answers and the taogate headers', async () => {
    const reply = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { origin: allowed, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sn4/targon-chat',
        messages: [{ role: 'user', content: 'from a page' }],
      }),
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(reply.headers.get('access-control-expose-headers')).toContain('x-taogate-miner');
  });

  it('refuses wildcards and paths in the allow-list at start-up', () => {
    for (const bad of ['*', 'https://app.example.com/', 'app.example.com', 'https://*.example.com']) {
      const loaded = loadConfig({ TAOGATE_CORS_ORIGINS: bad });
      expect(loaded.ok, bad).toBe(false);
    }
  });
});

describe('keys and rate limits at the door', () => {
  let stack: Stack;
  let store: TestLedger;
  const PER_IP = 5;

  beforeAll(async () => {
    store = await createTestLedger('sqlite');
    stack = await startStack({ env: { ...store.env, TAOGATE_RATE_LIMIT_PER_IP: String(PER_IP) } });
  });
  afterAll(async () => {
    await stack?.close();
    await store?.dispose();
  });

  const ask = (authorization?: string) =>
    fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ model: 'sn4/targon-chat', messages: [{ role: 'user', content: 'x' }] }),
    });

  it('refuses a missing, malformed or unknown key with 401 in OpenAI shape, never echoing it', async () => {
    for (const authorization of [undefined, 'Bearer not-a-key', `Bearer ${API_KEY}`, `Basic ${API_KEY}`]) {
      const response = await ask(authorization);
      expect(response.status, authorization).toBe(401);
      const text = await response.text();
      expectOpenAIError(JSON.parse(text));
      expect(leaks(text)).toEqual([]);
    }
  });

  it('limits requests per client address with 429 and Retry-After, whatever key they carry', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < PER_IP + 3; i++) {
      const response = await ask(`Bearer ${API_KEY}`);
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.body?.cancel();
    }
    expect(statuses.slice(0, 1)).not.toContain(429);
    expect(limited, statuses.join(',')).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expectOpenAIError(await limited!.json());
  });
});
