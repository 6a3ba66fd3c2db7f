import OpenAI from 'openai';
import { type Logger, pino } from 'pino';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { type GatewayConfig, LOCALNET_HOTKEY, loadConfig, loadProfiles } from '../config/index.ts';
import { type Gateway, startGateway } from '../gateway/index.ts';
import { type Localnet, type LocalnetOptions, startLocalnet } from '../localnet/index.ts';

export interface Stack {
  localnet: Localnet;
  gateway: Gateway;
  baseURL: string;
  /** The official OpenAI client pointed at the gateway, as an app would use it (no client-side retries). */
  client: OpenAI;
  close(): Promise<void>;
}

/** The official OpenAI client for a gateway, without retries so tests see each answer as it is. */
export function openAIClient(baseURL: string): OpenAI {
  return new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
}

/** localnet plus a gateway reading it through the production chain reader, on ephemeral ports. */
export async function startStack(
  options: { env?: Record<string, string>; localnet?: Partial<LocalnetOptions>; logger?: Logger } = {},
): Promise<Stack> {
  const loaded = loadConfig({ TAOGATE_PORT: '0', TAOGATE_LOG_LEVEL: 'silent', ...options.env });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const config: GatewayConfig = loaded.config;
  const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
  const localnet = await startLocalnet({
    profiles: loadProfiles(config.profilesPath),
    validatorHotkey: validator.ss58,
    blockMs: 200,
    ...options.localnet,
  });
  const gateway = await startGateway(
    { ...config, chainUrl: localnet.chain.url },
    options.logger ?? pino({ level: 'silent' }),
  );
  await gateway.source.ready();
  return {
    localnet,
    gateway,
    baseURL: `${gateway.url}/v1`,
    client: openAIClient(`${gateway.url}/v1`),
    async close() {
      await gateway.close();
      await localnet.close();
    },
  };
}
