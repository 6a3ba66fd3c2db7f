import { randomUUID } from 'node:crypto';
import { synapseBodyHash } from './body-hash.ts';
import type { Hotkey } from './keys.ts';
import type { JsonValue } from './python-str.ts';

/** bittensor's `version_as_int` for the release whose wire format we follow (10.2.0 → 10002000). */
export const DENDRITE_VERSION = 10_002_000;

/** What a subnet's synapse class declares, taken from its Python source. */
export interface SynapseShape {
  /** The class name; also the URL path the axon serves it on. */
  name: string;
  /** The class's `required_hash_fields`, in class order. */
  requiredHashFields: readonly string[];
  /** Fields without a default (pydantic `...`); each gets a `bt_header_input_obj_*` header. */
  requiredFields: readonly string[];
}

export interface AxonAddress {
  ip: string;
  port: number;
  hotkey: string;
}

export interface SynapseCall {
  shape: SynapseShape;
  /** The synapse's own fields (inputs, and empty outputs). */
  fields: Record<string, JsonValue>;
  timeoutSeconds: number;
  axon: AxonAddress;
  dendrite: Hotkey;
  /** The address the dendrite reports for itself (bittensor sends its external IP). */
  dendriteIp: string;
}

export interface SignedSynapse {
  path: string;
  headers: Record<string, string>;
  body: string;
}

// Nonces must grow strictly per "{hotkey}:{uuid}" at each axon (axon.py default_verify). A fresh uuid per
// request keeps concurrent requests independent; time_ns keeps them fresh.
let lastNonce = 0n;
function nextNonce(): bigint {
  const now = process.hrtime.bigint() - hrtimeOrigin + wallClockOriginNs;
  lastNonce = now > lastNonce ? now : lastNonce + 1n;
  return lastNonce;
}
const hrtimeOrigin = process.hrtime.bigint();
const wallClockOriginNs = BigInt(Date.now()) * 1_000_000n;

/** Python's `str(float)` for the synapse timeout header ("12.0", "2.5"). */
export function pythonFloat(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

/**
 * Builds and signs a synapse request the way `dendrite.preprocess_synapse_for_request` and
 * `Synapse.to_headers` do (bittensor/core/dendrite.py, bittensor/core/synapse.py).
 */
export function signSynapse(call: SynapseCall): SignedSynapse {
  const { shape, axon, dendrite } = call;
  const nonce = nextNonce().toString();
  const uuid = randomUUID();
  const bodyHash = synapseBodyHash(call.fields, shape.requiredHashFields);
  const signature = dendrite.sign(`${nonce}.${dendrite.ss58}.${axon.hotkey}.${uuid}.${bodyHash}`);
  const timeout = pythonFloat(call.timeoutSeconds);
  const dendriteInfo = {
    ip: call.dendriteIp,
    version: DENDRITE_VERSION,
    nonce,
    uuid,
    hotkey: dendrite.ss58,
    signature,
  };
  const axonInfo = { ip: axon.ip, port: axon.port, hotkey: axon.hotkey };

  const headers: Record<string, string> = {
    'content-type': 'application/json',
    name: shape.name,
    timeout,
    bt_header_axon_ip: axon.ip,
    bt_header_axon_port: String(axon.port),
    bt_header_axon_hotkey: axon.hotkey,
    bt_header_dendrite_ip: call.dendriteIp,
    bt_header_dendrite_version: String(DENDRITE_VERSION),
    bt_header_dendrite_nonce: nonce,
    bt_header_dendrite_uuid: uuid,
    bt_header_dendrite_hotkey: dendrite.ss58,
    bt_header_dendrite_signature: signature,
  };
  // to_headers sends base64(JSON) of an *empty* instance of each required field's type, only so that the
  // axon can build the synapse from headers before it reads the body.
  for (const field of shape.requiredFields) {
    headers[`bt_header_input_obj_${field}`] = emptyValueOfTypeBase64(call.fields[field]);
  }
  // The body is `synapse.model_dump()` (dendrite.py 578-582): every field, TerminalInfo objects with their
  // nulls, and `computed_body_hash` left "" because the field is frozen (synapse.py 475-480); the hash
  // travels in the header only.
  const body = JSON.stringify({
    ...call.fields,
    name: shape.name,
    timeout: call.timeoutSeconds,
    total_size: 0,
    header_size: 0,
    dendrite: { ...EMPTY_TERMINAL, ...dendriteInfo },
    axon: { ...EMPTY_TERMINAL, ...axonInfo },
    computed_body_hash: '',
  }).replace(`"nonce":"${nonce}"`, `"nonce":${nonce}`); // a Python int past 2^53: written as digits, not a string
  headers.computed_body_hash = bodyHash;
  headers.header_size = String(headerSize(headers));
  headers.total_size = String(Buffer.byteLength(body));
  return { path: `/${shape.name}`, headers, body };
}

const EMPTY_TERMINAL = {
  status_code: null,
  status_message: null,
  process_time: null,
  ip: null,
  port: null,
  version: null,
  nonce: null,
  uuid: null,
  hotkey: null,
  signature: null,
};

const EMPTY_LIST = Buffer.from('[]').toString('base64');
const EMPTY_DICT = Buffer.from('{}').toString('base64');
const EMPTY_STR = Buffer.from('""').toString('base64');

function emptyValueOfTypeBase64(value: JsonValue | undefined): string {
  if (Array.isArray(value)) return EMPTY_LIST;
  if (typeof value === 'string') return EMPTY_STR;
  if (typeof value === 'object' && value !== null) return EMPTY_DICT;
  return Buffer.from(
    JSON.stringify(typeof value === 'number' ? 0 : typeof value === 'boolean' ? false : null),
  ).toString('base64');
}

// bittensor reports sys.getsizeof(headers), a CPython implementation detail no axon checks; the byte size
// of the header block is the honest equivalent.
function headerSize(headers: Record<string, string>): number {
  let size = 0;
  for (const key in headers) size += key.length + headers[key]!.length + 4;
  return size;
}
