import type { Context } from 'hono';
import type { Logger } from 'pino';
import {
  type ChatRouter,
  type RoutableModel,
  type RoutedTaskWithFallback,
  routeTaskWithFallback,
} from '../router/index.ts';
import { httpError, invalidRequest, toHttpError } from './errors.ts';
import { IMAGE_CONTENT_TYPES, type ImageStore } from './image-store.ts';
import { imagesRequest } from './images-schema.ts';
import { modelFor } from './model-lookup.ts';
import { parseJsonBody } from './request-body.ts';
import { allOrNone, countsOf } from './split-batches.ts';

export interface ImagesRouteDeps {
  catalog: ReadonlyMap<string, RoutableModel>;
  router: ChatRouter;
  deadlineMs: number;
  logger: Logger;
  imageStore: ImageStore;
  /** The gateway's address as clients reach it, for image URLs; else the request's own origin. */
  publicUrl: string | undefined;
}

/** Where stored images are served: `GET /v1/images/files/{id}.{png|jpeg|webp}`. */
export const IMAGE_FILES_PATH = '/v1/images/files';

/**
 * POST /v1/images/generations: `n` images in calls of the profile's `maxImagesPerCall`, each routed like
 * any request; answered as base64 or as URLs the gateway serves itself for a while (`TAOGATE_IMAGE_URL_TTL_S`).
 */
export function imagesHandler(deps: ImagesRouteDeps) {
  return async (c: Context) => {
    const parsed = await parseJsonBody(c, imagesRequest);
    if (!parsed.ok) return c.json(parsed.error.body, parsed.error.status);
    const body = parsed.value;
    const found = modelFor(deps.catalog, body.model, 'images');
    if (!found.ok) return c.json(found.error.body, found.error.status);
    const { model } = found;
    const { sizes, maxImagesPerCall } = model.profile.images;
    const size = body.size ?? sizes[0]!;
    if (!sizes.includes(size)) {
      const error = invalidRequest(`${model.id} draws ${sizes.join(', ')}`, 'size', 'invalid_value');
      return c.json(error.body, error.status);
    }
    const [width, height] = size.split('x').map(Number) as [number, number];

    const calls = countsOf(body.n ?? 1, maxImagesPerCall).map(
      (n) => (signal: AbortSignal) =>
        routeTaskWithFallback(
          deps.router,
          deps.catalog,
          'images',
          model,
          { prompt: body.prompt, n, width, height },
          {
            signal,
            deadlineMs: deps.deadlineMs,
          },
        ),
    );
    let routed: RoutedTaskWithFallback<'images'>[];
    try {
      routed = await allOrNone(calls, c.req.raw.signal);
    } catch (error) {
      const mapped = toHttpError(error);
      if (mapped.status >= 500) deps.logger.warn({ err: error, model: model.id }, 'image request failed');
      return c.json(mapped.body, mapped.status, mapped.headers);
    }
    const first = routed[0]!;
    c.header('x-taogate-miner', `sn${first.miner.netuid}/uid${first.miner.uid}`);
    c.header('x-taogate-attempts', String(routed.reduce((sum, call) => sum + call.attempts, 0)));
    const fallback = routed.find((call) => call.servedBy !== model);
    if (fallback) c.header('x-taogate-fallback', fallback.servedBy.id);

    const images = routed.flatMap((call) => call.answer.images);
    const base = deps.publicUrl ?? new URL(c.req.url).origin;
    const data = [];
    for (const image of images) {
      if (body.response_format === 'b64_json') {
        data.push({ b64_json: image.bytes.toString('base64') });
        continue;
      }
      const stored = await deps.imageStore.put(image);
      if (!stored) {
        const error = httpError(
          502,
          'The image is larger than the image store',
          'upstream_error',
          'image_too_large',
        );
        return c.json(error.body, error.status);
      }
      data.push({ url: `${base}${IMAGE_FILES_PATH}/${stored.id}.${image.format}` });
    }
    return c.json({ created: Math.floor(Date.now() / 1000), data });
  };
}

/** GET /v1/images/files/{id}.{ext}: a stored image, until it expires. */
export function imageFileHandler(store: ImageStore) {
  return async (c: Context) => {
    const name = c.req.param('name') ?? '';
    const image = await store.get(name.replace(/\.(png|jpeg|webp)$/, ''));
    if (!image) {
      const error = httpError(
        404,
        'No such image, or it has expired',
        'invalid_request_error',
        'image_not_found',
      );
      return c.json(error.body, error.status);
    }
    const maxAge = Math.max(0, Math.floor((image.expiresAt - Date.now()) / 1000));
    return c.body(new Uint8Array(image.bytes), 200, {
      'content-type': IMAGE_CONTENT_TYPES[image.format],
      'cache-control': `private, max-age=${maxAge}`,
      'x-content-type-options': 'nosniff',
    });
  };
}
