#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { type GatewayConfig, loadConfig, loadProfiles } from '../config/index.ts';
import { startGateway } from '../gateway/index.ts';
import { startLocalnet } from '../localnet/index.ts';

const HELP = `taogate — an OpenAI-compatible gateway to Bittensor subnets

Usage: taogate <command>

Commands:
  start          run the gateway (on localnet by default: starts miners and a chain node too)
  localnet       run localnet alone and print its chain URL
  check-config   validate TAOGATE_* settings and the subnet profiles, then exit

Settings come from TAOGATE_* environment variables (see README.md), e.g.
  TAOGATE_NETWORK=finney TAOGATE_HOTKEY='<mnemonic>' taogate start
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { help: { type: 'boolean', short: 'h' } },
});
const command = positionals[0];
if (values.help || !command) {
  process.stdout.write(HELP);
  process.exit(command || values.help ? 0 : 1);
}

const loaded = loadConfig();
if (!loaded.ok) {
  process.stderr.write(`taogate: invalid configuration\n${loaded.errors.map((e) => `  ${e}`).join('\n')}\n`);
  process.exit(2);
}
const config = loaded.config;
const logger = pino({ level: config.logLevel, base: { service: 'taogate' } });

switch (command) {
  case 'check-config':
    try {
      const profiles = loadProfiles(config.profilesPath);
      process.stdout.write(`ok: network ${config.network}, ${profiles.length} subnet profiles\n`);
    } catch (error) {
      process.stderr.write(`taogate: ${(error as Error).message}\n`);
      process.exit(2);
    }
    break;
  case 'localnet':
    await runLocalnet(config, false);
    break;
  case 'start':
    await runLocalnet(config, true);
    break;
  default:
    process.stderr.write(`taogate: unknown command '${command}'\n\n${HELP}`);
    process.exit(1);
}

async function runLocalnet(config: GatewayConfig, withGateway: boolean): Promise<void> {
  const closers: (() => Promise<void>)[] = [];
  const shutdown = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  const profiles = loadProfiles(config.profilesPath);
  if (config.network === 'localnet') {
    const validator = await hotkeyFromSecret(config.hotkeySecret);
    const localnet = await startLocalnet({ profiles, validatorHotkey: validator.ss58 });
    closers.push(() => localnet.close());
    config.chainUrl = localnet.chain.url;
    logger.info({ chain: localnet.chain.url, miners: localnet.miners().length }, 'localnet is up');
    if (!withGateway) return void process.stdout.write(`localnet chain node: ${localnet.chain.url}\n`);
  }
  const gateway = await startGateway(config, logger);
  closers.push(() => gateway.close(config.drainMs));
  await gateway.source.ready();
  const model = `sn${profiles[0]!.netuid}/${profiles[0]!.models[0]}`;
  process.stdout.write(banner(gateway.url, model));
}

function banner(url: string, model: string): string {
  return `
taogate is serving at ${url}/v1   (Ctrl-C to stop)

  curl ${url}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"${model}","messages":[{"role":"user","content":"Hello, Bittensor"}]}'

  import OpenAI from 'openai';
  const client = new OpenAI({ baseURL: '${url}/v1', apiKey: 'unused-on-localnet' });
  const reply = await client.chat.completions.create({ model: '${model}', messages: [{ role: 'user', content: 'Hello' }] });

`;
}
