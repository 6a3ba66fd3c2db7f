export {
  type ConfigResult,
  DEFAULT_PIPELINES_PATH,
  type GatewayConfig,
  type LedgerSettings,
  LOCALNET_HOTKEY,
  loadConfig,
  NETWORKS,
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
