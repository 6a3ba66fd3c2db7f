import { Agent, type Dispatcher } from 'undici';
import type { Hotkey } from '../bittensor/index.ts';
import type { DialPolicy } from '../chain/index.ts';
import type { SubnetProfile } from '../config/profiles.ts';
import { withAnswerChecks } from './answer-checks.ts';
import { createBearerAdapter } from './bearer-adapter.ts';
import { createEpistulaAdapter } from './epistula-adapter.ts';
import { guardedLookup } from './guarded-lookup.ts';
import { createSynapseAdapter } from './synapse-adapter.ts';
import type { Adapter } from './types.ts';

export interface AdapterRegistryOptions {
  hotkey: Hotkey;
  /** The address the gateway reports as its own in `bt_header_dendrite_ip`. */
  dendriteIp: string;
  /** Kept-alive connections to miners (an undici Agent pools per origin). */
  dispatcher: Dispatcher;
  /** What OpenAI-compatible upstreams named by host may resolve to. */
  dialPolicy: DialPolicy;
  /** Where bearer keys are read from. */
  env?: Record<string, string | undefined>;
  /** Kept-alive connections per OpenAI-compatible endpoint (default 64). */
  connections?: number;
}

export interface AdapterRegistry {
  /** The profile's adapter, with its answer checks; one per subnet, made on first use. */
  adapterFor(profile: SubnetProfile): Adapter;
  close(): Promise<void>;
}

/** Builds each subnet's adapter from its profile: the protocol is data, the code is one per protocol. */
export function createAdapterRegistry(options: AdapterRegistryOptions): AdapterRegistry {
  const adapters = new Map<number, Adapter>();
  let upstreams: Agent | undefined;

  // Operators' APIs are dialled by host name: a pool of their own, whose every lookup is policed.
  function upstreamDispatcher(): Agent {
    upstreams ??= new Agent({
      connections: options.connections ?? 64,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connect: { lookup: guardedLookup(options.dialPolicy) },
    });
    return upstreams;
  }

  function create(profile: SubnetProfile): Adapter {
    switch (profile.protocol) {
      case 'synapse':
        return createSynapseAdapter({ synapse: profile.synapse, ...options });
      case 'epistula':
        return createEpistulaAdapter({ model: profile.openai.model, ...options });
      case 'openai': {
        const apiKey = (options.env ?? process.env)[profile.upstream.apiKeyEnv];
        if (!apiKey) throw new Error(`subnet ${profile.netuid}: ${profile.upstream.apiKeyEnv} is not set`);
        return createBearerAdapter({ profile, apiKey, dispatcher: upstreamDispatcher() });
      }
    }
  }

  return {
    adapterFor(profile) {
      let adapter = adapters.get(profile.netuid);
      if (!adapter) {
        adapter = withAnswerChecks(create(profile), profile);
        adapters.set(profile.netuid, adapter);
      }
      return adapter;
    },
    async close() {
      await upstreams?.close();
    },
  };
}
