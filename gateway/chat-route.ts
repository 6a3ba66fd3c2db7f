import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import type { ChatRequest } from '../adapters/index.ts';
import {
  type ChatRouter,
  type FannedOut,
  ModelNotFound,
  type RoutableModel,
  type RoutedWithFallback,
  routeWithFallback,
} from '../router/index.ts';
import { chatCompletionRequest, fanoutOf, toChatRequest } from './chat-schema.ts';
import { chatChunk, chatCompletion, completionId, usageOf } from './completion-shape.ts';
import { httpError, toHttpError } from './errors.ts';
import { parseJsonBody } from './request-body.ts';

export interface ChatRouteDeps {
  catalog: ReadonlyMap<string, RoutableModel>;
  router: ChatRouter;
  deadlineMs: number;
  logger: Logger;
}

/** POST /v1/chat/completions: JSON, or SSE chunks ending in `[DONE]` when `stream: true`. */
export function chatCompletionsHandler(deps: ChatRouteDeps) {
  return async (c: Context) => {
    const parsed = await parseJsonBody(c, chatCompletionRequest);
    if (!parsed.ok) return c.json(parsed.error.body, parsed.error.status);
    const body = parsed.value;
    const model = deps.catalog.get(body.model);
    if (!model) {
      const error = toHttpError(new ModelNotFound(body.model));
      return c.json(error.body, error.status);
    }
    const fanout = fanoutOf(c.req.header('x-taogate-fanout'), body, deps.router.maxFanout);
    if (!fanout.ok) return c.json(fanout.error.body, fanout.error.status);
    const request = toChatRequest(body);
    if (fanout.fanout > 1) return answerBestOf(c, deps, model, request, fanout.fanout);
    const started = performance.now();
    let routed: RoutedWithFallback;
    try {
      routed = await routeWithFallback(deps.router, deps.catalog, model, request, {
        signal: c.req.raw.signal,
        deadlineMs: deps.deadlineMs,
      });
    } catch (error) {
      return routingFailed(c, deps, model, error);
    }
    const servedModel = routed.servedBy.id;
    if (routed.servedBy !== model) c.header('x-taogate-fallback', servedModel);
    c.header('x-taogate-miner', minerName(routed.miner));
    c.header('x-taogate-attempts', String(routed.attempts));
    if (routed.hedged) c.header('x-taogate-hedged', '1');
    const promptText = promptTextOf(request);
    const id = completionId();
    const firstByteMs = performance.now() - started;

    if (!body.stream) {
      let content = '';
      try {
        for await (const chunk of routed.text) content += chunk;
      } catch (error) {
        const failed = httpError(
          502,
          `The miner failed mid-answer: ${(error as Error).message}`,
          'upstream_error',
          'upstream_failed',
        );
        return c.json(failed.body, failed.status);
      }
      c.header('server-timing', `upstream;dur=${(performance.now() - started).toFixed(1)}`);
      return c.json(chatCompletion(id, servedModel, content, usageOf(promptText, content)));
    }

    c.header('server-timing', `ttfb;dur=${firstByteMs.toFixed(1)}`);
    const includeUsage = body.stream_options?.include_usage === true;
    return streamSSE(c, async (sse) => {
      const created = Math.floor(Date.now() / 1000);
      const send = (data: unknown) => sse.writeSSE({ data: JSON.stringify(data) });
      let content = '';
      await send(chatChunk(id, servedModel, created, { role: 'assistant', content: '' }));
      try {
        for await (const chunk of routed.text) {
          if (sse.aborted) return;
          content += chunk;
          await send(chatChunk(id, servedModel, created, { content: chunk }));
        }
      } catch (error) {
        // Headers are gone: OpenAI reports a mid-stream failure as an error event.
        await send(
          httpError(
            502,
            `The miner failed mid-stream: ${(error as Error).message}`,
            'upstream_error',
            'upstream_failed',
          ).body,
        );
        return;
      }
      await send(chatChunk(id, servedModel, created, {}, 'stop'));
      if (includeUsage)
        await send({
          ...chatChunk(id, servedModel, created, {}),
          choices: [],
          usage: usageOf(promptText, content),
        });
      await sse.writeSSE({ data: '[DONE]' });
    });
  };
}

/**
 * Fan-out: the best of several miners' complete answers. Headers name the winner (`x-taogate-miner`), every
 * miner asked (`x-taogate-fanout-miners`) and how each fared (`x-taogate-fanout-verdicts`, same order).
 */
async function answerBestOf(
  c: Context,
  deps: ChatRouteDeps,
  model: RoutableModel,
  request: ChatRequest,
  fanout: number,
): Promise<Response> {
  const started = performance.now();
  let best: FannedOut;
  try {
    best = await deps.router.fanOut(model.profile, request, {
      signal: c.req.raw.signal,
      deadlineMs: deps.deadlineMs,
      fanout,
    });
  } catch (error) {
    return routingFailed(c, deps, model, error);
  }
  c.header('x-taogate-miner', minerName(best.winner));
  c.header('x-taogate-fanout-miners', best.queried.map(({ miner }) => minerName(miner)).join(','));
  c.header('x-taogate-fanout-verdicts', best.queried.map(({ verdict }) => verdict).join(','));
  c.header('server-timing', `upstream;dur=${(performance.now() - started).toFixed(1)}`);
  const usage = usageOf(promptTextOf(request), best.text);
  return c.json(chatCompletion(completionId(), model.id, best.text, usage));
}

/** No miner answered: the error's HTTP form, logged when it is the gateway's or the subnet's fault. */
function routingFailed(c: Context, deps: ChatRouteDeps, model: RoutableModel, error: unknown): Response {
  const mapped = toHttpError(error);
  if (mapped.status >= 500) deps.logger.warn({ err: error, model: model.id }, 'chat request failed');
  return c.json(mapped.body, mapped.status, mapped.headers);
}

function minerName(miner: { netuid: number; uid: number }): string {
  return `sn${miner.netuid}/uid${miner.uid}`;
}

function promptTextOf(request: ChatRequest): string {
  return request.messages.map((m) => m.content).join('\n');
}
