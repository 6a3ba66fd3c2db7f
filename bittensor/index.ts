export { sha3Hex, synapseBodyHash } from './body-hash.ts';
export {
  EPISTULA_ALLOWED_DELTA_MS,
  EPISTULA_VERSION,
  type EpistulaVerdict,
  signEpistula,
  verifyEpistula,
} from './epistula.ts';
export { cryptoReady, type Hotkey, hotkeyFromSecret, SS58_PREFIX, verifySignature } from './keys.ts';
export { type JsonValue, pythonStr } from './python-str.ts';
export { AxonStatus } from './status.ts';
export {
  type AxonAddress,
  DENDRITE_VERSION,
  pythonFloat,
  type SignedSynapse,
  type SynapseCall,
  type SynapseShape,
  signSynapse,
} from './synapse.ts';
export { ALLOWED_NONCE_DELTA_NS, NonceWindow, nowNs, type Verified } from './verify.ts';
