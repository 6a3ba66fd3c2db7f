import type { JsonValue } from '../bittensor/python-str.ts';
import type { SubnetTask, SynapseProfile } from '../config/profiles.ts';
import { lastUserMessage, minerAnswer } from './chat-synapse.ts';
import { textEmbedding } from './embedding-vectors.ts';
import { promptImage } from './png.ts';

/** What a localnet axon serves, beyond its synapse's layout. */
export interface SynapseServing {
  netuid: number;
  uid: number;
  synapse: SynapseProfile;
  task: SubnetTask;
  /** Embeddings: the vectors' length when the synapse names none. */
  dimensions: number;
}

/**
 * The miner's side of each task, read out of the synapse's fields as the profile lays them out: the text
 * a chat synapse is answered with, the vectors of an embeddings synapse, the base64 PNG(s) of an image
 * synapse. Undefined when the synapse lacks its inputs (the axon answers that with a 500, as bittensor does).
 */
export function synapseOutput(
  serving: SynapseServing,
  fields: Record<string, JsonValue>,
): JsonValue | undefined {
  const { synapse } = serving;
  const param = (name: keyof SynapseProfile['params']) => {
    const field = synapse.params[name];
    return field === undefined ? undefined : fields[field];
  };
  if (serving.task === 'chat') {
    const prompt = lastUserMessage(synapse, fields);
    return prompt === undefined ? undefined : minerAnswer(serving.netuid, serving.uid, prompt);
  }
  if (serving.task === 'embeddings') {
    const texts = synapse.inputField ? fields[synapse.inputField] : undefined;
    if (!Array.isArray(texts) || !texts.every((text) => typeof text === 'string')) return undefined;
    const requested = param('dimensions');
    const dimensions = typeof requested === 'number' ? requested : serving.dimensions;
    return texts.map((text) => textEmbedding(text, dimensions));
  }
  const prompt = synapse.promptField ? fields[synapse.promptField] : undefined;
  if (typeof prompt !== 'string' || prompt === '') return undefined;
  const [width, height] = sizeOf(param('width'), param('height'), param('size'));
  const n = param('n');
  const count = typeof n === 'number' && n > 1 ? Math.min(n, 10) : 1;
  const images = Array.from({ length: count }, (_, index) =>
    promptImage(prompt, width, height, index).toString('base64'),
  );
  // One image comes back as a plain string (NicheImage's `image: str`); several as a list.
  return count === 1 ? images[0]! : images;
}

function sizeOf(
  width: JsonValue | undefined,
  height: JsonValue | undefined,
  size: JsonValue | undefined,
): [number, number] {
  if (typeof width === 'number' && typeof height === 'number') return [clampSide(width), clampSide(height)];
  const match = typeof size === 'string' ? /^(\d+)x(\d+)$/.exec(size) : null;
  return match ? [clampSide(Number(match[1])), clampSide(Number(match[2]))] : [256, 256];
}

// Localnet draws at most 1024 a side: bigger asks are for real subnets.
function clampSide(side: number): number {
  return Math.max(1, Math.min(1024, Math.floor(side)));
}

/**
 * JSON with a space after each comma between values: the same JSON, but in words, so a staged fault can cut
 * it (or stream it) word by word as it does a chat answer.
 */
export function spacedJson(value: unknown): string {
  const json = JSON.stringify(value);
  let spaced = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const char = json[i]!;
    spaced += char;
    if (char === '"' && json[i - 1] !== '\\') inString = !inString;
    else if (char === ',' && !inString) spaced += ' ';
  }
  return spaced;
}
