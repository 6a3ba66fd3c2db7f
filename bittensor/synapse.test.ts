import { describe, expect, it } from 'vitest';
import {
  hotkeyFromSecret,
  NonceWindow,
  nowNs,
  pythonStr,
  signSynapse,
  synapseBodyHash,
  verifySignature,
} from './index.ts';

// Worked out from opentensor/bittensor 10.x (commit 6b29c2e0):
//   bittensor/core/synapse.py 590-669  Synapse.to_headers (header names, str(float) timeout, input_obj dummies)
//   bittensor/core/synapse.py 722-727  body_hash = sha3(join(sha3(str(field)) for field in required_hash_fields))
//   bittensor/utils/__init__.py 222-229 get_hash = hashlib.sha3_256(text.encode()).hexdigest()
//   bittensor/core/dendrite.py 705-722 nonce = time.time_ns(); message "{nonce}.{dendrite}.{axon}.{uuid}.{hash}"; "0x" + hex
//   bittensor/core/axon.py 928-975     default_verify rebuilds the message with the axon's own hotkey

describe('python str()', () => {
  it('quotes like CPython repr', () => {
    expect(pythonStr(['hello'])).toBe("['hello']");
    expect(pythonStr(["it's", 'a"b', 'both \' "'])).toBe(`["it's", 'a"b', 'both \\' "']`);
    expect(pythonStr([{ role: 'user', content: 'hi\n\tthere\\' }])).toBe(
      "[{'role': 'user', 'content': 'hi\\n\\tthere\\\\'}]",
    );
    expect(pythonStr(['é ✓ 日本', '\u0007', '\u00a0', '\u2028'])).toBe(
      "['é ✓ 日本', '\\x07', '\\xa0', '\\u2028']",
    );
    // Checked against CPython 3.11: str(json.loads(JSON.stringify(value))).
    expect(
      pythonStr([123456789012345680000, -0, 1e15 + 0.5, '\ud800', '\u00ad', '\u{1F600}', '\u3000']),
    ).toBe("[123456789012345680000, 0, 1000000000000000.5, '\\ud800', '\\xad', '😀', '\\u3000']");
    expect(pythonStr([true, false, null, 3, 0.7, 1e-5, 1.5e16, 1e21])).toBe(
      '[True, False, None, 3, 0.7, 1e-05, 15000000000000000, 1e+21]',
    );
  });
});

describe('synapse body hash', () => {
  it('is sha3-256 of the empty string when no field is hashed', () => {
    expect(synapseBodyHash({ messages: ['x'] }, [])).toBe(
      'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a',
    );
  });

  it("hashes the hex digest of str(messages) again: ['hello'] → e237…8550", () => {
    expect(synapseBodyHash({ messages: ['hello'] }, ['messages'])).toBe(
      'e2375691e17272625698e44c2322ea1d64374d5ad46f61f55698aaf0428b8550',
    );
  });
});

describe('signed synapse request', () => {
  it('sends the header set of Synapse.to_headers and a signature over the documented message', async () => {
    const dendrite = await hotkeyFromSecret('//Alice');
    const axonKey = await hotkeyFromSecret('//Bob');
    const signed = signSynapse({
      shape: {
        name: 'StreamPromptingSynapse',
        requiredHashFields: ['messages'],
        requiredFields: ['roles', 'messages'],
      },
      fields: { roles: ['user'], messages: ['hello'], completion: '' },
      timeoutSeconds: 12,
      axon: { ip: '127.0.0.1', port: 8091, hotkey: axonKey.ss58 },
      dendrite,
      dendriteIp: '127.0.0.1',
    });
    const h = signed.headers;
    expect(signed.path).toBe('/StreamPromptingSynapse');
    expect(Object.keys(h).sort()).toEqual(
      [
        'content-type',
        'name',
        'timeout',
        'bt_header_axon_ip',
        'bt_header_axon_port',
        'bt_header_axon_hotkey',
        'bt_header_dendrite_ip',
        'bt_header_dendrite_version',
        'bt_header_dendrite_nonce',
        'bt_header_dendrite_uuid',
        'bt_header_dendrite_hotkey',
        'bt_header_dendrite_signature',
        'bt_header_input_obj_roles',
        'bt_header_input_obj_messages',
        'computed_body_hash',
        'header_size',
        'total_size',
      ].sort(),
    );
    expect(h.timeout).toBe('12.0');
    expect(h.bt_header_dendrite_version).toBe('10002000');
    expect(h.bt_header_input_obj_messages).toBe('W10='); // base64("[]"): an empty dummy, not the value
    expect(h.computed_body_hash).toBe('e2375691e17272625698e44c2322ea1d64374d5ad46f61f55698aaf0428b8550');
    expect(h.bt_header_dendrite_signature).toMatch(/^0x[0-9a-f]{128}$/);
    const message = `${h.bt_header_dendrite_nonce}.${dendrite.ss58}.${axonKey.ss58}.${h.bt_header_dendrite_uuid}.${h.computed_body_hash}`;
    expect(verifySignature(message, h.bt_header_dendrite_signature!, dendrite.ss58)).toBe(true);

    const body = JSON.parse(signed.body);
    expect(body).toMatchObject({
      name: 'StreamPromptingSynapse',
      messages: ['hello'],
      computed_body_hash: '',
    });
    expect(body.dendrite.hotkey).toBe(dendrite.ss58);
    expect(signed.body).toContain(`"nonce":${h.bt_header_dendrite_nonce},`);
  });

  it('is verified only by the axon it was signed for, and only once', async () => {
    const dendrite = await hotkeyFromSecret('//Alice');
    const bob = await hotkeyFromSecret('//Bob');
    const charlie = await hotkeyFromSecret('//Charlie');
    const { headers } = signSynapse({
      shape: { name: 'Ping', requiredHashFields: [], requiredFields: [] },
      fields: {},
      timeoutSeconds: 2.5,
      axon: { ip: '127.0.0.1', port: 1, hotkey: bob.ss58 },
      dendrite,
      dendriteIp: '127.0.0.1',
    });
    expect(headers.timeout).toBe('2.5');
    expect(new NonceWindow().verify(headers, charlie.ss58, nowNs())).toMatchObject({ ok: false });
    const bobsWindow = new NonceWindow();
    expect(bobsWindow.verify(headers, bob.ss58, nowNs())).toEqual({
      ok: true,
      dendriteHotkey: dendrite.ss58,
    });
    expect(bobsWindow.verify(headers, bob.ss58, nowNs())).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Nonce/),
    });
    const stale = nowNs() + 60_000_000_000n;
    expect(new NonceWindow().verify(headers, bob.ss58, stale)).toMatchObject({ ok: false });
  });
});
