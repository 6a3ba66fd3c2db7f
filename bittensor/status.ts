/**
 * Axon status codes (bittensor/core/axon.py, the exception → status mapping in `AxonMiddleware`): the HTTP
 * status and `bt_header_axon_status_code` agree.
 */
export const AxonStatus = {
  ok: 200,
  unparsable: 400,
  notVerified: 401,
  blacklisted: 403,
  unknownSynapse: 404,
  priorityTimeout: 408,
  internalError: 500,
  overloaded: 503,
} as const;

/**
 * Statuses the dendrite sets itself when the exchange fails on its side (bittensor/core/dendrite.py
 * `process_error_message`).
 */
export const DendriteStatus = {
  connectFailed: 503,
  clientTimeout: 408,
  payloadError: 400,
  serverTimeout: 504,
  unparsableResponse: 422,
} as const;
