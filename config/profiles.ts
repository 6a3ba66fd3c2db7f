import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** How an OpenAI `messages` array is laid out in a synapse: SN1-style parallel lists, or Cortex-style objects. */
const messageLayout = z.discriminatedUnion('shape', [
  z.object({ shape: z.literal('split'), rolesField: z.string().min(1), contentsField: z.string().min(1) }),
  z.object({ shape: z.literal('objects'), field: z.string().min(1) }),
]);

const chatParam = z.enum(['temperature', 'max_tokens', 'top_p', 'seed']);

const synapseProfile = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Python class name'),
  streaming: z.boolean(),
  requiredHashFields: z.array(z.string()),
  requiredFields: z.array(z.string()),
  messages: messageLayout,
  /** OpenAI parameter → synapse field. */
  params: z.partialRecord(chatParam, z.string()),
  /** Fields sent with a fixed value. */
  constants: z.record(z.string(), z.json()),
  outputField: z.string().min(1),
});

const rao = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What a call costs the app, in rao (1 TAO = 10^9 rao); every part defaults to free. */
const price = z.strictObject({
  perRequest: rao.default(0),
  perThousandInputTokens: rao.default(0),
  perThousandOutputTokens: rao.default(0),
  perImage: rao.default(0),
});

/** What every subnet declares, whatever protocol its miners speak. */
const subnetBasics = {
  netuid: z.int().min(0).max(65535),
  name: z.string().min(1),
  task: z.enum(['chat']),
  /** Model names served by this subnet; exposed as `sn{netuid}/{model}`. */
  models: z.array(z.string().regex(/^[\w.-]+$/)).min(1),
  timeoutSeconds: z.number().positive().max(600),
  price: price.default({ perRequest: 0, perThousandInputTokens: 0, perThousandOutputTokens: 0, perImage: 0 }),
  /** Models (`sn{netuid}/{model}`) to try, in order, when this subnet has no miner able to answer. */
  fallback: z
    .array(z.string().regex(/^sn\d+\/[\w.-]+$/, 'a model id like sn18/cortex-chat'))
    .max(4)
    .default([]),
};

/** Miners that are bittensor axons, spoken to with synapses by a dendrite. */
const synapseSubnet = z.strictObject({
  ...subnetBasics,
  protocol: z.literal('synapse'),
  synapse: synapseProfile,
});

/** Miners that are OpenAI-compatible servers behind Epistula-signed HTTP (SN1 since 2025). */
const epistulaSubnet = z.strictObject({
  ...subnetBasics,
  protocol: z.literal('epistula'),
  openai: z.strictObject({
    /** The `model` sent upstream. */
    model: z.string().min(1),
  }),
});

const subnetProfile = z.discriminatedUnion('protocol', [synapseSubnet, epistulaSubnet]);

const profileFile = z.strictObject({ subnets: z.array(subnetProfile).min(1) });

export type SubnetProfile = z.infer<typeof subnetProfile>;
export type SynapseProfile = z.infer<typeof synapseProfile>;
export type SynapseSubnetProfile = z.infer<typeof synapseSubnet>;
export type EpistulaSubnetProfile = z.infer<typeof epistulaSubnet>;
export type Price = z.infer<typeof price>;
export type ChatParam = z.infer<typeof chatParam>;

export const DEFAULT_PROFILES_PATH = new URL('./subnets.json', import.meta.url).pathname;

/** Loads subnet profiles; a mistake stops start-up with the file, the subnet and the field named. */
export function loadProfiles(path: string = DEFAULT_PROFILES_PATH): SubnetProfile[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  const parsed = profileFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [, index, ...field] = issue.path;
    const subnet = typeof index === 'number' ? describeSubnet(raw, index) : 'the file';
    throw new Error(`${path}: ${subnet}, field ${field.join('.') || issue.path.join('.')}: ${issue.message}`);
  }
  const netuids = new Set<number>();
  for (const profile of parsed.data.subnets) {
    if (netuids.has(profile.netuid)) throw new Error(`${path}: netuid ${profile.netuid} is declared twice`);
    netuids.add(profile.netuid);
  }
  const models = new Set(
    parsed.data.subnets.flatMap((p) => p.models.map((model) => `sn${p.netuid}/${model}`)),
  );
  for (const profile of parsed.data.subnets) {
    for (const model of profile.fallback) {
      if (!models.has(model))
        throw new Error(`${path}: subnet ${profile.netuid}, field fallback: no model '${model}'`);
      if (model.startsWith(`sn${profile.netuid}/`)) {
        throw new Error(`${path}: subnet ${profile.netuid}, field fallback: '${model}' is the same subnet`);
      }
    }
  }
  return parsed.data.subnets;
}

function describeSubnet(raw: unknown, index: number): string {
  const entry = (raw as { subnets?: { netuid?: unknown }[] }).subnets?.[index];
  return entry?.netuid === undefined ? `subnet #${index}` : `subnet ${String(entry.netuid)}`;
}
