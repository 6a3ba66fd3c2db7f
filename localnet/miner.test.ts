import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Hotkey, hotkeyFromSecret, type SynapseCall, signSynapse } from '../bittensor/index.ts';
import { loadProfiles } from '../config/index.ts';
import type { SynapseSubnetProfile } from '../config/profiles.ts';
import { startMiner } from './miner.ts';
import type { Miner } from './miner-server.ts';

// The axon's answers to bad requests, as bittensor/core/axon.py gives them: blacklist 403 before
// verify 401 (middleware order, axon.py 1144-1172), unknown synapse 404, a body that does not match its
// signed hash 500 (verify_body_integrity, axon.py 717-731).
describe('a localnet miner', () => {
  const apex = loadProfiles().find(
    (p): p is SynapseSubnetProfile => p.protocol === 'synapse' && p.netuid === 1,
  )!;
  let validator: Hotkey;
  let minerKey: Hotkey;
  let miner: Miner;

  beforeAll(async () => {
    validator = await hotkeyFromSecret('//taogate');
    minerKey = await hotkeyFromSecret('//miner');
    miner = await startMiner({
      netuid: 1,
      uid: 1,
      hotkey: minerKey,
      rogueHotkey: await hotkeyFromSecret('//rogue'),
      synapse: apex.synapse,
      isAllowedCaller: (hotkey) => hotkey === validator.ss58,
      behaviour: { latencyMs: 0, jitterMs: 0 },
    });
  });
  afterAll(() => miner.close());

  function call(overrides: Partial<SynapseCall> = {}) {
    return signSynapse({
      shape: apex.synapse,
      fields: { roles: ['user'], messages: ['hi'], completion: '' },
      timeoutSeconds: 12,
      axon: { ip: '127.0.0.1', port: miner.port, hotkey: minerKey.ss58 },
      dendrite: validator,
      dendriteIp: '127.0.0.1',
      ...overrides,
    });
  }

  async function send(signed: ReturnType<typeof signSynapse>, path = signed.path) {
    const response = await request(`http://127.0.0.1:${miner.port}${path}`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  }

  it('streams its answer to a correctly signed synapse from a registered validator', async () => {
    const answer = await send(call());
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/event-stream');
    expect(answer.text).toBe('sn1 miner 1 heard: hi');
  });

  it('answers 401 to a request signed with another key than the dendrite hotkey it claims', async () => {
    const signed = call({ dendrite: await hotkeyFromSecret('//mallory') });
    signed.headers.bt_header_dendrite_hotkey = validator.ss58; // claims to be the validator
    const answer = await send(signed);
    expect(answer.status).toBe(401);
    expect(answer.headers.bt_header_axon_status_code).toBe('401');
    expect(JSON.parse(answer.text).message).toMatch(/Not Verified.*Signature mismatch/);
  });

  it('answers 401 to a request signed for another axon', async () => {
    const answer = await send(call({ axon: { ip: '127.0.0.1', port: miner.port, hotkey: validator.ss58 } }));
    expect(answer.status).toBe(401);
  });

  it('answers 401 to a replayed nonce', async () => {
    const signed = call();
    expect((await send(signed)).status).toBe(200);
    expect((await send(signed)).status).toBe(401);
  });

  it('answers 403 to a hotkey that is not a registered validator, before checking its signature', async () => {
    const answer = await send(call({ dendrite: await hotkeyFromSecret('//stranger') }));
    expect(answer.status).toBe(403);
  });

  it('answers 404 to a synapse it does not serve', async () => {
    expect((await send(call(), '/ImageResponse')).status).toBe(404);
  });

  it('answers 500 when the body does not match its signed hash', async () => {
    const signed = call();
    signed.body = signed.body.replace('"hi"', '"tampered"');
    expect((await send(signed)).status).toBe(500);
  });
});
