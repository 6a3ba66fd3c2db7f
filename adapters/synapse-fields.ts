import type { JsonValue } from '../bittensor/index.ts';
import type { SynapseParam, SynapseProfile } from '../config/profiles.ts';
import type { ChatRequest, EmbeddingsRequest, ImagesRequest } from './types.ts';

type ParamValues = Partial<Record<SynapseParam, JsonValue | undefined>>;

/**
 * A synapse's fields, as its profile lays them out: the output field's empty value, the profile's
 * constants, the task's own payload, then each request value the profile maps to a field.
 */
function synapseFields(
  profile: SynapseProfile,
  emptyOutput: JsonValue,
  payload: Record<string, JsonValue>,
  values: ParamValues,
): Record<string, JsonValue> {
  const fields: Record<string, JsonValue> = {
    [profile.outputField]: emptyOutput,
    ...profile.constants,
    ...payload,
  };
  for (const [param, field] of Object.entries(profile.params)) {
    const value = values[param as SynapseParam];
    if (value !== undefined && field) fields[field] = value;
  }
  return fields;
}

/** Maps an OpenAI chat request onto a subnet's synapse fields, as its profile describes. */
export function chatToSynapseFields(
  profile: SynapseProfile,
  request: ChatRequest,
): Record<string, JsonValue> {
  const layout = profile.messages;
  const payload: Record<string, JsonValue> = {};
  if (layout?.shape === 'split') {
    payload[layout.rolesField] = request.messages.map((message) => message.role);
    payload[layout.contentsField] = request.messages.map((message) => message.content);
  } else if (layout) {
    payload[layout.field] = request.messages.map(({ role, content }) => ({ role, content }));
  }
  const { temperature, max_tokens, top_p, seed, model } = request;
  return synapseFields(profile, '', payload, { temperature, max_tokens, top_p, seed, model });
}

/** A batch of texts to embed, in the synapse's input field. */
export function embeddingsToSynapseFields(
  profile: SynapseProfile,
  request: EmbeddingsRequest,
): Record<string, JsonValue> {
  const payload = profile.inputField ? { [profile.inputField]: request.inputs } : {};
  return synapseFields(profile, [], payload, { model: request.model, dimensions: request.dimensions });
}

/** An image prompt, with the size as `WxH` and as width and height, where the profile maps them. */
export function imagesToSynapseFields(
  profile: SynapseProfile,
  request: ImagesRequest,
): Record<string, JsonValue> {
  const payload = profile.promptField ? { [profile.promptField]: request.prompt } : {};
  const { model, n, width, height } = request;
  return synapseFields(profile, '', payload, { model, n, width, height, size: `${width}x${height}` });
}
