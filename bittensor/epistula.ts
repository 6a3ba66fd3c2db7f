import { createHash, randomUUID } from 'node:crypto';
import { type Hotkey, verifySignature } from './keys.ts';
import { pythonFloat } from './synapse.ts';

// Epistula v2, the signed-HTTP scheme of newer subnets, as macrocosm-os/prompting shared/epistula.py
// (commit 29eaf4623969b710f35c579707a6fe3b1bdd5fcd) writes and checks it; macrocosm-os/atom
// atom/epistula/epistula.py (commit dcc188f4ae5f96610f1e51fbbe31284565fd7c45) says the same.
//   56-78  generate_header: version "2", timestamp = round(time.time() * 1000), uuid4, Signed-By,
//          Request-Signature = "0x" + sign("{sha256(body).hexdigest()}.{uuid}.{timestamp}.{signed_for or ''}")
//   62     timestampInterval = ceil(timestamp / 1e4) * 1e4 (a Python *float*)
//   72-76  with signed_for: Signed-For and Secret-Signature-{0,1,2} = sign(str(interval + k) + "." + signed_for)
//          for k = -1, 0, +1; str() of that float ends in ".0", so the signed text is e.g. "1700000009999.0.5F…"
//   29-53  verify_signature: stale when timestamp + 8000 < now (ms); then the same message must verify by
//          Signed-By. It keeps no record of uuids and accepts timestamps from the future.

export const EPISTULA_VERSION = '2';
/** shared/epistula.py 45: how old (ms) a request may be when it arrives. */
export const EPISTULA_ALLOWED_DELTA_MS = 8000;
const SECRET_INTERVAL_MS = 10_000;

export type EpistulaVerdict = { ok: true; signedBy: string } | { ok: false; reason: string };

/** Signs `body`, the exact bytes that will be sent, as `signedBy`; `signedFor` is the receiver's ss58. */
export function signEpistula(
  body: string | Uint8Array,
  signer: Hotkey,
  signedFor?: string,
  nowMs: number = Date.now(),
): Record<string, string> {
  const timestampMs = Math.round(nowMs);
  const timestamp = String(timestampMs);
  const uuid = randomUUID();
  const headers: Record<string, string> = {
    'Epistula-Version': EPISTULA_VERSION,
    'Epistula-Timestamp': timestamp,
    'Epistula-Uuid': uuid,
    'Epistula-Signed-By': signer.ss58,
    'Epistula-Request-Signature': signer.sign(requestMessage(body, uuid, timestamp, signedFor ?? '')),
  };
  if (signedFor) {
    headers['Epistula-Signed-For'] = signedFor;
    const secrets = secretSignatures(signer, signedFor, timestampMs);
    secrets.forEach((signature, i) => {
      headers[`Epistula-Secret-Signature-${i}`] = signature;
    });
  }
  return headers;
}

interface SecretSignatures {
  interval: number;
  signatures: readonly string[];
}

// The secret signatures cover only the interval and the receiver, so within an interval every request to a
// miner can carry the same three: one sr25519 signature per request instead of four on the hot path.
// One entry per receiver, replaced when the interval moves on.
const secretsBySigner = new WeakMap<Hotkey, Map<string, SecretSignatures>>();

function secretSignatures(signer: Hotkey, signedFor: string, timestampMs: number): readonly string[] {
  const interval = Math.ceil(timestampMs / SECRET_INTERVAL_MS) * SECRET_INTERVAL_MS;
  let byReceiver = secretsBySigner.get(signer);
  if (!byReceiver) {
    byReceiver = new Map();
    secretsBySigner.set(signer, byReceiver);
  }
  const cached = byReceiver.get(signedFor);
  if (cached?.interval === interval) return cached.signatures;
  const signatures = [-1, 0, 1].map((k) => signer.sign(`${pythonFloat(interval + k)}.${signedFor}`));
  byReceiver.set(signedFor, { interval, signatures });
  return signatures;
}

/**
 * A receiver's check: the request must be signed for `ownHotkey`, fresh, and signed by its Signed-By over
 * these exact body bytes. `headers` as Node gives them (lower-case names).
 */
export function verifyEpistula(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string | Uint8Array,
  ownHotkey: string,
  nowMs: number,
): EpistulaVerdict {
  const header = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const signature = header('epistula-request-signature');
  const timestamp = header('epistula-timestamp');
  const uuid = header('epistula-uuid');
  const signedBy = header('epistula-signed-by');
  const signedFor = header('epistula-signed-for');
  if (!signature || !timestamp || !uuid || !signedBy)
    return { ok: false, reason: 'Missing Epistula headers' };
  if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'Invalid Timestamp' };
  if (signedFor !== ownHotkey) return { ok: false, reason: 'Bad Request, message is not intended for self' };
  if (Number(timestamp) + EPISTULA_ALLOWED_DELTA_MS < nowMs)
    return { ok: false, reason: 'Request is too stale' };
  if (!verifySignature(requestMessage(body, uuid, timestamp, signedFor), signature, signedBy)) {
    return { ok: false, reason: 'Signature Mismatch' };
  }
  return { ok: true, signedBy };
}

function requestMessage(
  body: string | Uint8Array,
  uuid: string,
  timestamp: string,
  signedFor: string,
): string {
  return `${createHash('sha256').update(body).digest('hex')}.${uuid}.${timestamp}.${signedFor}`;
}
