export {
  type ConfigResult,
  type GatewayConfig,
  type LedgerSettings,
  loadConfig,
  SETTING_NAMES,
} from './config.ts';
export {
  CONFIG_FILE_VARIABLE,
  type LayeredConfigResult,
  loadLayeredConfig,
  readConfigFile,
  type SettingSources,
} from './config-file.ts';
export {
  type ChatParam,
  DEFAULT_PROFILES_PATH,
  loadProfiles,
  type OpenAiSubnetProfile,
  type Price,
  type ProfileOf,
  type SubnetProfile,
  type SubnetTask,
  type SynapseProfile,
} from './profiles.ts';
export { REDACTED, redactSecrets } from './redact-secrets.ts';
export {
  DEFAULT_PIPELINES_PATH,
  DEFAULT_RERANKER_MODEL_PATH,
  LOCALNET_HOTKEY,
  NETWORKS,
} from './settings-schema.ts';
