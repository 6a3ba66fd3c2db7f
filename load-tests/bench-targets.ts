import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadProfiles } from '../config/index.ts';
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
): Promise<RunningTarget> {
  const port = await freePort();
  const startedAt = performance.now();
  const child = startNode({
    name: 'taogate',
    args: [`${ROOT}bin/taogate.ts`, 'start'],
    nodeFlags: context.gatewayNodeFlags,
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
    },
  });
  await waitForPort(port, child);
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (tries > 300) throw new Error('taogate never became ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { ...running(child, `${url}${CHAT_PATH}`, model, {}), startedAt };
}

/** The synapse subnet the dendrite scenario calls: streaming, signed, one of the shipped profiles. */
const DENDRITE_NETUID = 18;

const dendrite: TargetKind = {
  name: 'dendrite',
  describe: 'taogate → localnet axons: sr25519-signed streaming synapses (miners verify every signature)',
  async start(context) {
    const profile = loadProfiles().find((p) => p.netuid === DENDRITE_NETUID);
    if (!profile) throw new Error(`no profile for sn${DENDRITE_NETUID}`);
    const profilesPath = `${context.workDir}/bench-dendrite-profiles.json`;
    writeFileSync(profilesPath, JSON.stringify({ subnets: [{ ...profile, fallback: [] }] }, null, 2));
    const localnet = startNode({
      name: 'localnet',
      args: [here('./bench-localnet.ts')],
      env: { BENCH_PROFILES: profilesPath, UPSTREAM_DELAY_MS: String(context.upstream.delayMs) },
    });
    const { chainUrl } = await firstMessage<{ chainUrl: string }>(localnet);
    const gateway = await startTaogate(
      context,
      chainUrl,
      profilesPath,
      `sn${profile.netuid}/${profile.models[0]}`,
    );
    return {
      ...gateway,
      async stop() {
        await gateway.stop();
        await stop(localnet);
      },
    };
  },
};

export const TARGETS: readonly TargetKind[] = [direct, bareProxy, portkey, dendrite];
