import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_PROFILES_PATH } from '../config/index.ts';
import { firstMessage, freePort, startNode, stop, waitForPort } from './bench-processes.ts';

const here = (file: string) => new URL(file, import.meta.url).pathname;
const ROOT = here('../');

export const CHAT_PATH = '/v1/chat/completions';

/** The mock OpenAI upstream every scenario ends at, for one upstream delay. */
export interface Upstream {
  origin: string;
  pid: number;
  delayMs: number;
  stop(): Promise<void>;
}

/** A gateway (or the upstream itself) ready to take load. */
export interface RunningTarget {
  url: string;
  headers: Record<string, string>;
  model: string;
  /** The process whose CPU and RSS are reported: the gateway's, or the upstream's for `direct`. */
  pid: number;
  /** When the process was started (performance.now()), so a CPU profile can leave out start-up. */
  startedAt?: number;
  stop(): Promise<void>;
}

export interface TargetContext {
  upstream: Upstream;
  /** Where scratch files go (generated profiles, snapshots). */
  workDir: string;
  /** Node flags for the gateway process, e.g. `--cpu-prof`. */
  gatewayNodeFlags: string[];
}

export interface TargetKind {
  name: string;
  describe: string;
  start(context: TargetContext): Promise<RunningTarget>;
}

const BEARER = { authorization: 'Bearer sk-bench', 'content-type': 'application/json' };

export async function startUpstream(delayMs: number): Promise<Upstream> {
  const port = await freePort();
  const child = startNode({
    name: 'mock upstream',
    args: [here('./bench-mock-upstream.ts')],
    env: { PORT: String(port), UPSTREAM_DELAY_MS: String(delayMs) },
  });
  await waitForPort(port, child);
  return { origin: `http://127.0.0.1:${port}`, pid: child.pid!, delayMs, stop: () => stop(child) };
}

function running(
  child: ChildProcess,
  url: string,
  model: string,
  headers: Record<string, string>,
): RunningTarget {
  return { url, model, headers: { ...BEARER, ...headers }, pid: child.pid!, stop: () => stop(child) };
}

const direct: TargetKind = {
  name: 'direct',
  describe: 'the mock upstream itself: the floor',
  async start({ upstream }) {
    return {
      url: `${upstream.origin}${CHAT_PATH}`,
      model: 'bench-model',
      headers: BEARER,
      pid: upstream.pid,
      stop: async () => {},
    };
  },
};

const bareProxy: TargetKind = {
  name: 'bare-proxy',
  describe: 'node:http in, undici Pool out: what Node itself costs',
  async start({ upstream }) {
    const port = await freePort();
    const child = startNode({
      name: 'bare proxy',
      args: [here('./bench-bare-proxy.ts')],
      env: { PORT: String(port), UPSTREAM: upstream.origin },
    });
    await waitForPort(port, child);
    return running(child, `http://127.0.0.1:${port}${CHAT_PATH}`, 'bench-model', {});
  },
};

const honoProxy: TargetKind = {
  name: 'hono-proxy',
  describe: 'the bare proxy on hono + @hono/node-server: what the framework costs',
  async start({ upstream }) {
    const port = await freePort();
    const child = startNode({
      name: 'hono proxy',
      args: [here('./bench-hono-proxy.ts')],
      env: { PORT: String(port), UPSTREAM: upstream.origin },
    });
    await waitForPort(port, child);
    return running(child, `http://127.0.0.1:${port}${CHAT_PATH}`, 'bench-model', {});
  },
};

const portkey: TargetKind = {
  name: 'portkey',
  describe: 'the Portkey AI gateway from npm, provider openai with a custom host',
  async start({ upstream }) {
    const port = await freePort();
    const child = startNode({
      name: 'portkey',
      args: [`${ROOT}node_modules/@portkey-ai/gateway/build/start-server.js`, `--port=${port}`, '--headless'],
      env: { NODE_ENV: 'production' },
    });
    await waitForPort(port, child);
    return running(child, `http://127.0.0.1:${port}${CHAT_PATH}`, 'bench-model', {
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstream.origin}/v1`,
    });
  },
};

/** The real gateway (`bin/taogate.ts start`) in its own process, against a chain node; ready once /readyz says so. */
async function startTaogate(
  context: TargetContext,
  chainUrl: string,
  profilesPath: string,
  model: string,
  env: Record<string, string> = {},
  root = ROOT,
): Promise<RunningTarget> {
  const port = await freePort();
  const startedAt = performance.now();
  const child = startNode({
    name: 'taogate',
    args: [`${root}bin/taogate.ts`, 'start'],
    nodeFlags: [...startFlagsOf(root), ...context.gatewayNodeFlags],
    env: {
      TAOGATE_NETWORK: chainUrl,
      TAOGATE_HOTKEY: '//taogate',
      TAOGATE_PORT: String(port),
      TAOGATE_PROFILES: profilesPath,
      TAOGATE_SNAPSHOT_DIR: `${context.workDir}/snapshots`,
      TAOGATE_ALLOW_LOOPBACK_AXONS: 'true',
      TAOGATE_LOG_LEVEL: 'warn',
      // The full path: routing (weights, breakers, hedging, reranker) and metrics as shipped, no
      // response cache; no pipelines file, whose models may not exist in the bench profiles.
      TAOGATE_CACHE: 'off',
      TAOGATE_PIPELINES: 'off',
      ...env,
    },
  });
  await waitForPort(port, child);
  const url = `http://127.0.0.1:${port}`;
  // Ready when the path under test answers: a baseline checkout's /readyz may wait for a metagraph that a
  // gateway serving only OpenAI-compatible upstreams never reads (fixed since: it is ready at once).
  const probe = { model, messages: [{ role: 'user', content: 'ready?' }] };
  let answer = '';
  for (let tries = 0; ; tries++) {
    const ok = await fetch(`${url}${CHAT_PATH}`, {
      method: 'POST',
      headers: BEARER,
      body: JSON.stringify(probe),
    }).then(
      async (response) => {
        answer = `${response.status} ${await response.text()}`;
        return response.ok;
      },
      (error: Error) => {
        answer = error.message;
        return false;
      },
    );
    if (ok) break;
    if (tries > 300) throw new Error(`taogate never answered ${model}: ${answer.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { ...running(child, `${url}${CHAT_PATH}`, model, {}), startedAt };
}

/** The Node flags `npm start` runs that checkout's gateway with (its package.json): measured as deployed. */
function startFlagsOf(root: string): string[] {
  const packageJson = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
    scripts?: { start?: string };
  };
  const words = packageJson.scripts?.start?.split(/\s+/) ?? [];
  return words.slice(0, words.indexOf('bin/taogate.ts')).filter((word) => word.startsWith('--'));
}

/** A chain node (and miners, for chain subnets) from bench-localnet.ts, serving the profiles in `profilesPath`. */
async function startLocalnet(context: TargetContext, profilesPath: string, env: Record<string, string> = {}) {
  const localnet = startNode({
    name: 'localnet',
    args: [here('./bench-localnet.ts')],
    env: { BENCH_PROFILES: profilesPath, UPSTREAM_DELAY_MS: String(context.upstream.delayMs), ...env },
  });
  const { chainUrl } = await firstMessage<{ chainUrl: string }>(localnet);
  return { chainUrl, stop: () => stop(localnet) };
}

function withLocalnet(gateway: RunningTarget, localnet: { stop(): Promise<void> }): RunningTarget {
  return {
    ...gateway,
    async stop() {
      await gateway.stop();
      await localnet.stop();
    },
  };
}

/** The bearer key the bench profile's upstream is called with (the mock does not check it). */
const BENCH_KEY_ENV = { TAOGATE_BENCH_UPSTREAM_KEY: 'sk-bench-upstream' };

/** taogate, from this checkout or another (`root`), against the mock through bench-profiles.json. */
function taogateFrom(name: string, describe: string, root: string): TargetKind {
  return {
    name,
    describe,
    async start(context) {
      // bench-profiles.json with its base URL pointed at this run's mock.
      const file = JSON.parse(readFileSync(here('./bench-profiles.json'), 'utf8')) as BenchProfiles;
      const profile = file.subnets[0]!;
      profile.upstream.baseUrls = [`${context.upstream.origin}/v1`];
      const profilesPath = `${context.workDir}/bench-profiles.json`;
      writeFileSync(profilesPath, JSON.stringify(file, null, 2));
      const localnet = await startLocalnet(context, profilesPath, BENCH_KEY_ENV);
      const model = `sn${profile.netuid}/${profile.models[0]}`;
      const gateway = await startTaogate(
        context,
        localnet.chainUrl,
        profilesPath,
        model,
        {
          ...BENCH_KEY_ENV,
          // One endpoint stands for a whole subnet here: let it take every connection the load brings, as
          // an operator with a single upstream would, instead of answering past 64 in flight with 429.
          TAOGATE_MINER_MAX_IN_FLIGHT: '1024',
        },
        root,
      );
      return withLocalnet(gateway, localnet);
    },
  };
}

const taogate = taogateFrom(
  'taogate',
  'taogate → the mock through the OpenAI-compatible bearer adapter: routing, metrics, no cache',
  ROOT,
);

/**
 * Another checkout of taogate (BENCH_BASELINE_ROOT, e.g. an export of an earlier commit with node_modules
 * linked in) measured in the same run: before/after figures that share the machine's noise.
 */
const baselineRoot = process.env.BENCH_BASELINE_ROOT?.replace(/\/*$/, '/');
const baseline = baselineRoot
  ? taogateFrom('taogate-baseline', `taogate from ${baselineRoot}`, baselineRoot)
  : undefined;

interface BenchProfiles {
  subnets: { netuid: number; models: string[]; upstream: { baseUrls: string[] } }[];
}

/** The synapse subnet the dendrite scenario calls: streaming, signed, one of the shipped profiles. */
const DENDRITE_NETUID = 18;

const dendrite: TargetKind = {
  name: 'dendrite',
  describe: 'taogate → localnet axons: sr25519-signed streaming synapses (miners verify every signature)',
  async start(context) {
    // Taken as written from the shipped profiles (validated again by the gateway), fallback removed.
    const shipped = JSON.parse(readFileSync(DEFAULT_PROFILES_PATH, 'utf8')) as {
      subnets: { netuid: number; models: string[] }[];
    };
    const profile = shipped.subnets.find((p) => p.netuid === DENDRITE_NETUID);
    if (!profile) throw new Error(`no profile for sn${DENDRITE_NETUID} in ${DEFAULT_PROFILES_PATH}`);
    const profilesPath = `${context.workDir}/bench-dendrite-profiles.json`;
    writeFileSync(profilesPath, JSON.stringify({ subnets: [{ ...profile, fallback: [] }] }, null, 2));
    const localnet = await startLocalnet(context, profilesPath);
    const model = `sn${profile.netuid}/${profile.models[0]}`;
    return withLocalnet(await startTaogate(context, localnet.chainUrl, profilesPath, model), localnet);
  },
};

export const TARGETS: readonly TargetKind[] = [
  direct,
  bareProxy,
  honoProxy,
  taogate,
  ...(baseline ? [baseline] : []),
  portkey,
  dendrite,
];
