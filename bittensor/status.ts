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
