import { z } from 'zod';
import { readDataFile } from './data-file.ts';

/** How an OpenAI `messages` array is laid out in a synapse: SN1-style parallel lists, or Cortex-style objects. */
const messageLayout = z.discriminatedUnion('shape', [
  z.object({ shape: z.literal('split'), rolesField: z.string().min(1), contentsField: z.string().min(1) }),
  z.object({ shape: z.literal('objects'), field: z.string().min(1) }),
]);

const chatParam = z.enum(['temperature', 'max_tokens', 'top_p', 'seed']);
/** Request values a synapse may carry, by OpenAI name; `width`/`height` are read from the image `size`. */
const synapseParam = z.enum([...chatParam.options, 'model', 'dimensions', 'n', 'size', 'width', 'height']);

const fieldName = z.string().min(1);

const synapseProfile = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Python class name'),
  /** A StreamingSynapse (chat only): the answer comes back as raw text chunks. */
  streaming: z.boolean().default(false),
  requiredHashFields: z.array(z.string()),
  requiredFields: z.array(z.string()).default([]),
  /** chat: where the conversation goes. */
  messages: messageLayout.optional(),
  /** embeddings: the field holding the list of texts. */
  inputField: fieldName.optional(),
  /** images: the field holding the prompt. */
  promptField: fieldName.optional(),
  /** OpenAI parameter → synapse field. */
  params: z.partialRecord(synapseParam, fieldName).default({}),
  /** Fields sent with a fixed value. */
  constants: z.record(z.string(), z.json()).default({}),
  /**
   * Where the miner puts its answer: chat text; embeddings as a list of vectors; images as base64 (a string,
   * a data URL, or a list of them).
   */
  outputField: fieldName,
});

const rao = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What a call costs the app, in rao (1 TAO = 10^9 rao); every part defaults to free. */
const price = z.strictObject({
  perRequest: rao.default(0),
  perThousandInputTokens: rao.default(0),
  perThousandOutputTokens: rao.default(0),
  perImage: rao.default(0),
});

const task = z.enum(['chat', 'embeddings', 'images']);

const imageSize = z.string().regex(/^\d{2,4}x\d{2,4}$/, 'a size like 1024x1024');

/** The answer checks every answer of the subnet must pass, or the miner counts as failed and another is tried. */
const answerChecks = z.strictObject({
  /** chat: fewer characters than this is no answer (1: not empty). */
  minTextChars: z.int().min(1).default(1),
  /** embeddings: every vector must have unit length (±1%). */
  unitNorm: z.boolean().default(false),
  /** images: the encodings accepted (told apart by their magic bytes). */
  imageFormats: z
    .array(z.enum(['png', 'jpeg', 'webp']))
    .min(1)
    .default(['png']),
  /** images: the largest image accepted, decoded. */
  maxImageBytes: z
    .int()
    .min(1024)
    .max(32 * 1024 * 1024)
    .default(8 * 1024 * 1024),
});

const checksDefault = {
  minTextChars: 1,
  unitNorm: false,
  imageFormats: ['png' as const],
  maxImageBytes: 8 * 1024 * 1024,
};

/** What every subnet declares, whatever protocol its miners speak. */
const subnetBasics = {
  netuid: z.int().min(0).max(65535),
  name: z.string().min(1),
  /** What the subnet is, for people reading the profile and `GET /v1/models`. */
  description: z.string().optional(),
  task,
  /** Model names served by this subnet; exposed as `sn{netuid}/{model}`. */
  models: z.array(z.string().regex(/^[\w.-]+$/)).min(1),
  /** Per attempt: a miner that takes longer is given up on, and another is tried within the deadline. */
  timeoutSeconds: z.number().positive().max(600),
  price: price.default({ perRequest: 0, perThousandInputTokens: 0, perThousandOutputTokens: 0, perImage: 0 }),
  /** Models (`sn{netuid}/{model}`) to try, in order, when this subnet has no miner able to answer. */
  fallback: z
    .array(z.string().regex(/^sn\d+\/[\w.-]+$/, 'a model id like sn18/cortex-chat'))
    .max(4)
    .default([]),
  /** How long a cacheable answer of this subnet is served from the cache (0: never); TAOGATE_CACHE_TTL_MS if unset. */
  cacheTtlSeconds: z.number().min(0).max(604_800).optional(),
  /** embeddings: what the subnet's vectors look like and how many texts one call may carry. */
  embeddings: z
    .strictObject({
      /** The vectors' length, checked on every answer. */
      dimensions: z.int().min(1).max(65_536),
      /** The subnet honours a requested `dimensions` up to its own (Matryoshka models); else only its own. */
      variableDimensions: z.boolean().default(false),
      /** Texts one upstream call may carry; longer inputs are split into batches of this size. */
      maxBatchInputs: z.int().min(1).max(2048).default(16),
    })
    .optional(),
  /** images: what the subnet can draw. */
  images: z
    .strictObject({
      /** `WxH` sizes it accepts; the first is the default. */
      sizes: z.array(imageSize).min(1),
      /** Images one upstream call may return; a larger `n` is asked of several miners at once. */
      maxImagesPerCall: z.int().min(1).max(10).default(1),
    })
    .optional(),
  checks: answerChecks.default(checksDefault),
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

/**
 * OpenAI-compatible APIs run by subnet validators or operators (Chutes, Nineteen, Targon…), called with a
 * bearer key. Not chain miners: the profile lists the endpoints, and the router spreads calls and fails
 * over across them like across miners.
 */
const openAiSubnet = z.strictObject({
  ...subnetBasics,
  protocol: z.literal('openai'),
  upstream: z.strictObject({
    /** Each endpoint's base URL, up to and including the API version (`https://host/v1`). */
    baseUrls: z
      .array(z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).refine((url) => !url.includes('?')))
      .min(1)
      .max(64),
    /** The environment variable holding the bearer key; the key itself never goes in a file. */
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name'),
    /** Our model name → the upstream's, where they differ (upstream names often hold `/`). */
    models: z.record(z.string(), z.string().min(1)).default({}),
  }),
});

const subnetProfile = z
  .discriminatedUnion('protocol', [synapseSubnet, epistulaSubnet, openAiSubnet])
  .superRefine((profile, ctx) => {
    const need = (present: unknown, path: string[], what: string) => {
      if (present === undefined) ctx.addIssue({ code: 'custom', path, message: `required for ${what}` });
    };
    if (profile.task === 'embeddings') need(profile.embeddings, ['embeddings'], 'task embeddings');
    if (profile.task === 'images') need(profile.images, ['images'], 'task images');
    if (profile.protocol !== 'synapse') return;
    const synapse = profile.synapse;
    if (profile.task === 'chat') need(synapse.messages, ['synapse', 'messages'], 'task chat');
    if (profile.task === 'embeddings') need(synapse.inputField, ['synapse', 'inputField'], 'task embeddings');
    if (profile.task === 'images') need(synapse.promptField, ['synapse', 'promptField'], 'task images');
    if (synapse.streaming && profile.task !== 'chat') {
      ctx.addIssue({ code: 'custom', path: ['synapse', 'streaming'], message: 'only chat synapses stream' });
    }
  });

const profileFile = z.strictObject({ subnets: z.array(subnetProfile).min(1) });

export type SubnetProfile = z.infer<typeof subnetProfile>;
export type SynapseProfile = z.infer<typeof synapseProfile>;
export type SynapseSubnetProfile = z.infer<typeof synapseSubnet>;
export type EpistulaSubnetProfile = z.infer<typeof epistulaSubnet>;
export type OpenAiSubnetProfile = z.infer<typeof openAiSubnet>;
export type SubnetTask = z.infer<typeof task>;
export type EmbeddingsSpec = NonNullable<SubnetProfile['embeddings']>;
export type ImagesSpec = NonNullable<SubnetProfile['images']>;
/** A profile of one task, with the section that task needs (the loader refuses one without it). */
export type ProfileOf<T extends SubnetTask> = SubnetProfile & { task: T } & (T extends 'embeddings'
    ? { embeddings: EmbeddingsSpec }
    : T extends 'images'
      ? { images: ImagesSpec }
      : unknown);
export type AnswerChecks = z.infer<typeof answerChecks>;
export type Price = z.infer<typeof price>;
export type ChatParam = z.infer<typeof chatParam>;
export type SynapseParam = z.infer<typeof synapseParam>;

export const DEFAULT_PROFILES_PATH = new URL('./subnets.json', import.meta.url).pathname;

/**
 * Loads subnet profiles (JSON, or YAML by extension); a mistake stops start-up with the file, the subnet
 * and the field named. `env` is where the bearer keys of OpenAI-compatible upstreams must be set.
 */
export function loadProfiles(
  path: string = DEFAULT_PROFILES_PATH,
  env: Record<string, string | undefined> = process.env,
): SubnetProfile[] {
  const raw = readDataFile(path);
  const parsed = profileFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [, index, ...field] = issue.path;
    const subnet = typeof index === 'number' ? describeSubnet(raw, index) : 'the file';
    throw new Error(`${path}: ${subnet}, field ${field.join('.') || issue.path.join('.')}: ${issue.message}`);
  }
  const fail = (profile: SubnetProfile, field: string, message: string) =>
    new Error(`${path}: subnet ${profile.netuid}, field ${field}: ${message}`);
  const netuids = new Set<number>();
  for (const profile of parsed.data.subnets) {
    if (netuids.has(profile.netuid)) throw new Error(`${path}: netuid ${profile.netuid} is declared twice`);
    netuids.add(profile.netuid);
  }
  const taskOf = new Map<string, SubnetTask>(
    parsed.data.subnets.flatMap((p) => p.models.map((model) => [`sn${p.netuid}/${model}`, p.task] as const)),
  );
  for (const profile of parsed.data.subnets) {
    for (const model of profile.fallback) {
      const task = taskOf.get(model);
      if (!task) throw fail(profile, 'fallback', `no model '${model}'`);
      if (model.startsWith(`sn${profile.netuid}/`)) {
        throw fail(profile, 'fallback', `'${model}' is the same subnet`);
      }
      if (task !== profile.task)
        throw fail(profile, 'fallback', `'${model}' serves ${task}, not ${profile.task}`);
      // Vectors of another model live in another space: mixed into one index, they would silently mislead.
      if (task === 'embeddings')
        throw fail(profile, 'fallback', 'embeddings cannot fall back to another model');
    }
    if (profile.protocol === 'openai' && !env[profile.upstream.apiKeyEnv]) {
      throw fail(profile, 'upstream.apiKeyEnv', `the variable ${profile.upstream.apiKeyEnv} is not set`);
    }
  }
  return parsed.data.subnets;
}

function describeSubnet(raw: unknown, index: number): string {
  const entry = (raw as { subnets?: { netuid?: unknown }[] }).subnets?.[index];
  return entry?.netuid === undefined ? `subnet #${index}` : `subnet ${String(entry.netuid)}`;
}
