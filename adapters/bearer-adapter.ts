import type { Dispatcher } from 'undici';
import type { OpenAiSubnetProfile } from '../config/profiles.ts';
import { type ApiLocation, createOpenAiApiAdapter } from './openai-api-adapter.ts';
import { openAiErrorMessage } from './openai-chat.ts';
import type { CompleteAdapter, MinerTarget } from './types.ts';

export interface BearerAdapterOptions {
  profile: OpenAiSubnetProfile;
  /** The key from the environment variable the profile names; never logged. */
  apiKey: string;
  /** A dispatcher whose lookups follow the dial policy (guardedLookup). */
  dispatcher: Dispatcher;
}

/**
 * OpenAI-compatible APIs of subnet operators and validators, with a bearer key: requests go through as
 * OpenAI requests with the upstream's model name, answers stream back as they come.
 */
export function createBearerAdapter(options: BearerAdapterOptions): CompleteAdapter {
  const { profile, dispatcher } = options;
  const authorization = { authorization: `Bearer ${options.apiKey}` };
  const locations = new Map<string, ApiLocation>();
  const [firstModel] = profile.models;

  function locate(target: MinerTarget): ApiLocation {
    const baseUrl = target.baseUrl;
    if (!baseUrl) throw new Error(`sn${target.netuid}/uid${target.uid} has no base URL`);
    let location = locations.get(baseUrl);
    if (!location) {
      const url = new URL(baseUrl);
      location = { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
      locations.set(baseUrl, location);
    }
    return location;
  }

  return createOpenAiApiAdapter({
    protocol: 'openai',
    peer: 'upstream',
    dispatcher,
    locate,
    authenticate: () => authorization,
    upstreamModel: (model = firstModel!) => profile.upstream.models[model] ?? model,
    rejection: (response, body) => keyFree(response.statusCode, openAiErrorMessage(body), options.apiKey),
  });
}

/**
 * An upstream's error message, fit to reach clients: OpenAI-style servers quote part of a refused key
 * ("Incorrect API key provided: sk-…abcd"), and no part of the gateway's key may leave it.
 */
function keyFree(status: number, message: string | undefined, apiKey: string): string | undefined {
  if (status === 401 || status === 403) return 'the upstream refused the gateway’s key';
  return message?.replaceAll(apiKey, '[redacted]').replace(/\b(?:sk|key|api)[-_][\w*.-]{4,}/gi, '[redacted]');
}
