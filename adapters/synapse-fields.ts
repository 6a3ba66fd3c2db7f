import type { JsonValue } from '../bittensor/index.ts';
import type { SynapseProfile } from '../config/profiles.ts';
import type { ChatRequest } from './types.ts';

/** Maps an OpenAI chat request onto a subnet's synapse fields, as its profile describes. */
export function chatToSynapseFields(
  profile: SynapseProfile,
  request: ChatRequest,
): Record<string, JsonValue> {
  const fields: Record<string, JsonValue> = { ...profile.constants };
  const layout = profile.messages;
  if (layout.shape === 'split') {
    fields[layout.rolesField] = request.messages.map((message) => message.role);
    fields[layout.contentsField] = request.messages.map((message) => message.content);
  } else {
    fields[layout.field] = request.messages.map(({ role, content }) => ({ role, content }));
  }
  for (const [param, field] of Object.entries(profile.params)) {
    const value = request[param as keyof typeof profile.params];
    if (value !== undefined && field) fields[field] = value;
  }
  fields[profile.outputField] = '';
  return fields;
}
