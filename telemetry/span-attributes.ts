/**
 * Attribute names of the OpenTelemetry GenAI semantic conventions (semconv 1.37+, still "development"),
 * copied here rather than imported from the package's `incubating` entry point, as its README advises for
 * unstable names: an upgrade cannot rename them under us. Gateway-specific facts use the `taogate.` prefix.
 */
export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
/** Replaces the deprecated `gen_ai.system`, which is not set as well: one attribute per fact on every span. */
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';

/** The provider every subnet answers as. */
export const BITTENSOR = 'bittensor';

/** GenAI operation names per API route (`gen_ai.operation.name` well-known values where one fits). */
export const OPERATION_BY_ROUTE: Readonly<Record<string, string>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'text_completion',
  '/v1/embeddings': 'embeddings',
  '/v1/images/generations': 'generate_content',
};

export const TAOGATE_NETUID = 'taogate.netuid';
/** The miner that answered a request, `sn1/uid3`, on its server span. */
export const TAOGATE_MINER = 'taogate.miner';
export const TAOGATE_MINER_UID = 'taogate.miner.uid';
export const TAOGATE_MINER_HOTKEY = 'taogate.miner.hotkey';
export const TAOGATE_MINER_BUCKET = 'taogate.miner.incentive_bucket';
export const TAOGATE_PROTOCOL = 'taogate.protocol';
export const TAOGATE_ATTEMPT = 'taogate.attempt';
export const TAOGATE_HEDGE = 'taogate.hedge';
export const TAOGATE_FANOUT = 'taogate.fanout';
export const TAOGATE_CACHE = 'taogate.cache';
export const TAOGATE_COALESCED = 'taogate.coalesced';
export const TAOGATE_SPENT_RAO = 'taogate.spent_rao';
export const TAOGATE_OUTCOME = 'taogate.outcome';
export const TAOGATE_REQUEST_ID = 'taogate.request_id';
