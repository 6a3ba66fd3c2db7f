export { type ConfigResult, type GatewayConfig, LOCALNET_HOTKEY, loadConfig, NETWORKS } from './config.ts';
export {
  type ChatParam,
  DEFAULT_PROFILES_PATH,
  loadProfiles,
  type Price,
  type SubnetProfile,
  type SynapseProfile,
} from './profiles.ts';
