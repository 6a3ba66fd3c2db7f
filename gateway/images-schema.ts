import { z } from 'zod';

/**
 * OpenAI's image generation request, as subnets can serve it. `size` must be one the subnet's profile
 * lists; options only OpenAI's own models have (quality, style, background…) are accepted and not passed on.
 */
export const imagesRequest = z.object({
  model: z.string().min(1),
  prompt: z.string().min(1).max(32_000),
  n: z.int().min(1).max(10).nullish(),
  size: z
    .string()
    .regex(/^\d{2,4}x\d{2,4}$/, 'a size like 1024x1024')
    .nullish(),
  response_format: z.enum(['url', 'b64_json']).nullish(),
  user: z.string().optional(),
});

export type ImagesBody = z.infer<typeof imagesRequest>;
