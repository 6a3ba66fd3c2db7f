import { z } from 'zod';
import type { AxonInfo, MetagraphSnapshot, Neuron, Subnet } from './metagraph.ts';

const unitInterval = z.number().min(0).max(1);
const blockNumber = z.number().int().nonnegative();

const axonSchema = z.object({
  ip: z.string().min(1),
  ipType: z.union([z.literal(4), z.literal(6)]),
  port: z.number().int().min(0).max(65535),
  protocol: z.number().int().nonnegative(),
  version: z.number().int().nonnegative(),
  block: blockNumber,
}) satisfies z.ZodType<AxonInfo>;

const neuronSchema = z.object({
  uid: z.number().int().nonnegative(),
  hotkey: z.string().min(1),
  coldkey: z.string().min(1),
  stake: z.number().nonnegative(),
  incentive: unitInterval,
  trust: unitInterval,
  consensus: unitInterval,
  dividends: unitInterval,
  validatorPermit: z.boolean(),
  lastUpdate: blockNumber,
  axon: axonSchema.nullable(),
}) satisfies z.ZodType<Neuron>;

const subnetSchema = z.object({
  netuid: z.number().int().nonnegative(),
  tempo: z.number().int().nonnegative(),
  neuronCount: z.number().int().nonnegative(),
  neurons: z.array(neuronSchema),
}) satisfies z.ZodType<Subnet>;

/** A metagraph snapshot as stored on disk: whatever is read back is checked before the gateway routes on it. */
export const metagraphSnapshotSchema = z.object({
  block: blockNumber,
  readAt: z.number().nonnegative(),
  subnets: z.array(subnetSchema),
}) satisfies z.ZodType<MetagraphSnapshot>;
