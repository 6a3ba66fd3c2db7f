#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ACCOUNTS_HELP, depositAddressOf, runAccountsCommand } from '../billing/index.ts';
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { DEPOSIT_HELP, runDepositCommand } from '../chain/index.ts';
import {
  CONFIG_FILE_VARIABLE,
  type GatewayConfig,
  loadLayeredConfig,
  loadProfiles,
  redactSecrets,
  type SettingSources,
} from '../config/index.ts';
import { startGateway } from '../gateway/index.ts';
import { buildCatalog } from '../router/index.ts';
import { loadPipelines, stepKindsOf } from '../router/pipelines/index.ts';
import { requestLogFields, startTracing } from '../telemetry/index.ts';

const HELP = `taogate — an OpenAI-compatible gateway to Bittensor subnets

Usage: taogate <command> [--config <file>]

Commands:
  start          run the gateway (on localnet by default: starts miners and a chain node too)
  localnet       run localnet alone and print its chain URL
  check-config   validate the settings and the subnet profiles, print them (secrets redacted), then exit
  accounts       manage the payment ledger: accounts create|list|keys|usage
  deposit        on localnet: pay TAO from a coldkey into the gateway's deposit address

Options:
  -c, --config <file>   a JSON or YAML config file (default: TAOGATE_CONFIG); TAOGATE_* variables override it
  -h, --help            this help; \`taogate <command> --help\` for a command's

Settings come from TAOGATE_* environment variables and the config file (see README.md), e.g.
  TAOGATE_NETWORK=finney TAOGATE_HOTKEY_FILE=~/.bittensor/wallets/default/hotkeys/default taogate start
`;

/** Each command's own help, for `taogate <command> --help` and `taogate help <command>`. */
const COMMAND_HELP: Record<string, string> = {
  accounts: ACCOUNTS_HELP,
  deposit: DEPOSIT_HELP,
  start: `Usage: taogate start [--config <file>]

Runs the gateway on TAOGATE_HOST:TAOGATE_PORT. On localnet (the default network) it first starts local
miners and a chain node; with TAOGATE_NETWORK=finney|test|ws(s)://… it reads that chain and needs the
gateway's hotkey (TAOGATE_HOTKEY or TAOGATE_HOTKEY_FILE). SIGTERM or SIGINT drains requests and streams in
flight for up to TAOGATE_DRAIN_MS, then exits. Probes: GET /healthz (alive), GET /readyz (routing).
`,
  localnet: `Usage: taogate localnet [--config <file>]

Runs localnet alone (miners for every subnet profile and a Subtensor-like chain node) and prints the chain
node's URL, for gateways started with TAOGATE_NETWORK=<that URL> TAOGATE_ALLOW_LOOPBACK_AXONS=true.
`,
  'check-config': `Usage: taogate check-config [--config <file>]

Validates the settings (config file, then TAOGATE_* variables over it) and the subnet profiles, and prints
the effective configuration with secrets redacted, the hotkey's public address and where each setting came
from. Exits 2 with every mistake named (the variable, and the file and key for values from the file).
`,
};

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string', short: 'c' },
    // accounts and deposit
    name: { type: 'string' },
    json: { type: 'boolean' },
    since: { type: 'string' },
    'spend-cap': { type: 'string' },
    'rate-limit': { type: 'string' },
    from: { type: 'string' },
    amount: { type: 'string' },
    to: { type: 'string' },
    chain: { type: 'string' },
  },
});
const command = positionals[0] === 'help' ? positionals[1] : positionals[0];
if (values.help || !command || positionals[0] === 'help') {
  process.stdout.write((command && COMMAND_HELP[command]) || HELP);
  process.exit(command || values.help || positionals[0] === 'help' ? 0 : 1);
}

const loaded = loadLayeredConfig(process.env, values.config ?? process.env[CONFIG_FILE_VARIABLE]);
if (!loaded.ok) {
  process.stderr.write(`taogate: invalid configuration\n${loaded.errors.map((e) => `  ${e}`).join('\n')}\n`);
  process.exit(2);
}
const config = loaded.config;
// Every line logged while serving a request carries its id (`req_id`).
const logger = pino({
  level: config.logLevel,
  base: { service: 'taogate' },
  mixin: requestLogFields,
  // Nothing logs request headers today; should anything ever, API keys and signatures stay out of the logs.
  redact: {
    paths: ['*.headers.authorization', '*.headers["epistula-request-signature"]', 'headers.authorization'],
    censor: '[redacted]',
  },
});
if (loaded.unknownVariables.length > 0) {
  logger.warn({ variables: loaded.unknownVariables }, 'ignoring TAOGATE_* variables that are no setting');
}

switch (command) {
  case 'check-config':
    try {
      const profiles = loadProfiles(config.profilesPath);
      const pipelines = config.pipelinesPath
        ? loadPipelines(config.pipelinesPath, stepKindsOf(buildCatalog(profiles)))
        : new Map();
      const hotkey = await hotkeyFromSecret(config.hotkeySecret);
      process.stdout.write(
        `ok: network ${config.network}, ${profiles.length} subnet profiles, ${pipelines.size} pipelines, hotkey ${hotkey.ss58}\n` +
          `${describeSources(loaded.sources, loaded.file)}\n` +
          `effective configuration (secrets redacted):\n${JSON.stringify(redactSecrets(config), null, 2)}\n`,
      );
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
  case 'accounts':
    process.exitCode = await runAccountsCommand(positionals.slice(1), values, config, logger, (text) =>
      process.stdout.write(text),
    );
    break;
  case 'deposit':
    if (config.network !== 'localnet' && !values.chain) {
      process.stderr.write(`taogate deposit: localnet only\n\n${DEPOSIT_HELP}`);
      process.exit(2);
    }
    process.exitCode = await runDepositCommand(
      {
        chainUrl: values.chain ?? (await import('../localnet/index.ts')).readChainUrlFile(),
        from: values.from,
        amount: values.amount,
        to: values.to ?? (await depositAddressOf(config)),
      },
      (text) => process.stdout.write(text),
    );
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
    // Loaded only here: localnet's chain node brings polkadot-js's type registry, which a gateway on a
    // real network, or one serving only OpenAI-compatible subnets, need never load.
    const { removeChainUrlFile, startLocalnet, writeChainUrlFile } = await import('../localnet/index.ts');
    const validator = await hotkeyFromSecret(config.hotkeySecret);
    const localnet = await startLocalnet({ profiles, validatorHotkey: validator.ss58 });
    closers.push(() => localnet.close());
    config.chainUrl = localnet.chain.url;
    // `taogate deposit` finds this localnet's chain node through it.
    writeChainUrlFile(localnet.chain.url);
    closers.push(async () => removeChainUrlFile());
    logger.info({ chain: localnet.chain.url, miners: localnet.miners().length }, 'localnet is up');
    if (!withGateway) return void process.stdout.write(`localnet chain node: ${localnet.chain.url}\n`);
  }
  if (config.tracing) {
    // Started before the gateway and stopped after it, so the last requests' spans are flushed.
    const tracing = await startTracing();
    closers.push(() => tracing.shutdown());
  }
  const gateway = await startGateway(config, logger);
  closers.push(() => gateway.close(config.drainMs));
  await gateway.source.ready();
  const model = `sn${profiles[0]!.netuid}/${profiles[0]!.models[0]}`;
  process.stdout.write(banner(gateway.url, model));
}

function describeSources(sources: SettingSources, file: string | undefined): string {
  const from = (where: 'env' | 'file') =>
    Object.keys(sources)
      .filter((name) => sources[name] === where)
      .sort();
  const fromFile = file ? `from ${file}: ${from('file').join(', ') || 'nothing'}` : 'no config file';
  return `settings ${fromFile}; from the environment: ${from('env').join(', ') || 'nothing'}`;
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
