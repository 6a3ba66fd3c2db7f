import { beforeAll, describe, expect, it } from 'vitest';
import { type Hotkey, hotkeyFromSecret, signEpistula, verifyEpistula, verifySignature } from './index.ts';

// Expected values worked out by running the lines of macrocosm-os/prompting shared/epistula.py (commit
// 29eaf4623969b710f35c579707a6fe3b1bdd5fcd) in CPython 3: sha256(body).hexdigest() for the body below (line 70), and
// str(ceil(ts / 1e4) * 1e4 + k) for the secret-signature intervals (lines 62, 74-76).
const BODY = '{"model":"apex","messages":[]}';
const BODY_SHA256 = '21e8fa37c4abd3854662f69211dda8cfd494d39702d84f2c0915ee270b854eb7';
const TS = 1_700_000_000_123;

describe('Epistula signing', () => {
  let caller: Hotkey;
  let miner: Hotkey;

  beforeAll(async () => {
    caller = await hotkeyFromSecret('//epistula/caller');
    miner = await hotkeyFromSecret('//epistula/miner');
  });

  it('sends version 2, the millisecond timestamp, a uuid4 and the signer', () => {
    const headers = signEpistula(BODY, caller, miner.ss58, TS);
    expect(headers['Epistula-Version']).toBe('2');
    expect(headers['Epistula-Timestamp']).toBe('1700000000123');
    expect(headers['Epistula-Uuid']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(headers['Epistula-Signed-By']).toBe(caller.ss58);
    expect(headers['Epistula-Signed-For']).toBe(miner.ss58);
  });

  it('signs "{sha256_hex(body)}.{uuid}.{timestamp}.{signed_for}", for strings and bytes alike', () => {
    for (const body of [BODY, new TextEncoder().encode(BODY)]) {
      const headers = signEpistula(body, caller, miner.ss58, TS);
      const message = `${BODY_SHA256}.${headers['Epistula-Uuid']}.1700000000123.${miner.ss58}`;
      expect(verifySignature(message, headers['Epistula-Request-Signature']!, caller.ss58)).toBe(true);
    }
  });

  it('signs with an empty Signed-For part, and no secret signatures, when signed for no one', () => {
    const headers = signEpistula(BODY, caller, undefined, TS);
    const message = `${BODY_SHA256}.${headers['Epistula-Uuid']}.1700000000123.`;
    expect(verifySignature(message, headers['Epistula-Request-Signature']!, caller.ss58)).toBe(true);
    expect(Object.keys(headers).filter((name) => /Signed-For|Secret/.test(name))).toEqual([]);
  });

  it.each([
    [TS, ['1700000009999.0', '1700000010000.0', '1700000010001.0']],
    [1_700_000_010_000, ['1700000009999.0', '1700000010000.0', '1700000010001.0']],
    [1_700_000_010_001, ['1700000019999.0', '1700000020000.0', '1700000020001.0']],
  ])('signs the 10 s intervals around %i as Python prints the float: %j', (ts, intervals) => {
    const headers = signEpistula(BODY, caller, miner.ss58, ts);
    intervals.forEach((interval, k) => {
      const signature = headers[`Epistula-Secret-Signature-${k}`]!;
      expect(verifySignature(`${interval}.${miner.ss58}`, signature, caller.ss58)).toBe(true);
    });
  });

  it('signs the secrets once per interval and receiver, and anew when the interval moves on', () => {
    const secrets = (ts: number) =>
      [0, 1, 2].map((k) => signEpistula(BODY, caller, miner.ss58, ts)[`Epistula-Secret-Signature-${k}`]);
    expect(secrets(TS + 1)).toEqual(secrets(TS + 2));
    expect(secrets(TS + 1)).not.toEqual(secrets(TS + 10_000));
  });
});

describe('Epistula verification', () => {
  let caller: Hotkey;
  let miner: Hotkey;

  beforeAll(async () => {
    caller = await hotkeyFromSecret('//epistula/caller');
    miner = await hotkeyFromSecret('//epistula/miner');
  });

  // Node lower-cases incoming header names.
  const received = (headers: Record<string, string>) =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

  it('accepts a request signed for itself, up to 8 s old, naming the signer', () => {
    const headers = received(signEpistula(BODY, caller, miner.ss58, TS));
    expect(verifyEpistula(headers, BODY, miner.ss58, TS + 8000)).toEqual({ ok: true, signedBy: caller.ss58 });
    expect(verifyEpistula(headers, Buffer.from(BODY), miner.ss58, TS)).toMatchObject({ ok: true });
  });

  it('rejects a request older than 8 s (timestamp + 8000 < now)', () => {
    const headers = received(signEpistula(BODY, caller, miner.ss58, TS));
    expect(verifyEpistula(headers, BODY, miner.ss58, TS + 8001)).toEqual({
      ok: false,
      reason: 'Request is too stale',
    });
  });

  it('rejects a request signed for another hotkey, or for no one', async () => {
    const other = await hotkeyFromSecret('//epistula/other');
    for (const signedFor of [other.ss58, undefined]) {
      const headers = received(signEpistula(BODY, caller, signedFor, TS));
      expect(verifyEpistula(headers, BODY, miner.ss58, TS)).toMatchObject({ ok: false });
    }
  });

  it('rejects a body that is not the one signed, and a signer that did not sign', async () => {
    const headers = received(signEpistula(BODY, caller, miner.ss58, TS));
    expect(verifyEpistula(headers, `${BODY} `, miner.ss58, TS)).toEqual({
      ok: false,
      reason: 'Signature Mismatch',
    });
    const impostor = { ...headers, 'epistula-signed-by': (await hotkeyFromSecret('//mallory')).ss58 };
    expect(verifyEpistula(impostor, BODY, miner.ss58, TS)).toMatchObject({ ok: false });
  });

  it('rejects missing headers and a timestamp that is not an integer', () => {
    const headers = received(signEpistula(BODY, caller, miner.ss58, TS));
    const { 'epistula-uuid': _, ...withoutUuid } = headers;
    expect(verifyEpistula(withoutUuid, BODY, miner.ss58, TS)).toMatchObject({ ok: false });
    const fractional = { ...headers, 'epistula-timestamp': '1700000000123.5' };
    expect(verifyEpistula(fractional, BODY, miner.ss58, TS)).toEqual({
      ok: false,
      reason: 'Invalid Timestamp',
    });
  });
});
