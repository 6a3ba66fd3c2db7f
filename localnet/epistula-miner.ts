import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { verifyEpistula } from '../bittensor/index.ts';
import { createFaultStage, pacedWords } from './behaviour.ts';
import { lastUserContent, minerAnswer } from './chat-synapse.ts';
import {
  jsonOf,
  type Miner,
  type MinerHandler,
  type MinerIdentity,
  startMinerServer,
} from './miner-server.ts';
import { chunkEvent, completionJson, DONE_EVENT, errorJson, openAiAnswer } from './openai-answer.ts';

export interface EpistulaMinerOptions extends MinerIdentity {
  /** The only `model` it serves. */
  model: string;
}

const chatRequest = z.object({
  model: z.string(),
  messages: z.array(z.unknown()),
  stream: z.boolean().optional(),
});

/**
 * A localnet miner the way SN1's are run since 2025: an OpenAI-compatible server behind Epistula
 * (prompting neurons/miners/epistula_miner/miner.py verify_request): the request must be signed for the
 * miner's own hotkey, by an allowed caller, recently. That miner answers 400/401 (FastAPI `{"detail"}`);
 * this one answers 403 to strangers and 401 to bad signatures, as axons do, so both protocols fail alike.
 */
export function startEpistulaMiner(options: EpistulaMinerOptions): Promise<Miner> {
  const stageFault = createFaultStage(options.seed ?? options.netuid * 1000 + options.uid);

  const serve: MinerHandler = async (request, body, response, behaviour) => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      return sendDetail(response, 404, 'Not Found');
    }
    // Strangers are turned away before any signature is checked, as bittensor axons blacklist before verify.
    const caller = request.headers['epistula-signed-by'];
    if (typeof caller !== 'string' || !options.isAllowedCaller(caller)) {
      return sendDetail(response, 403, `Signer ${String(caller)} may not call`);
    }
    const servedKey = behaviour.wrongHotkey ? options.rogueHotkey : options.hotkey;
    const verdict = verifyEpistula(request.headers, body, servedKey.ss58, Date.now());
    if (!verdict.ok) return sendDetail(response, 401, verdict.reason);

    const chat = chatRequest.safeParse(jsonOf(body));
    const prompt = chat.success ? lastUserContent(chat.data.messages) : undefined;
    if (!chat.success || prompt === undefined) {
      return sendJson(
        response,
        400,
        errorJson('expected model and messages ending with a user turn', 'invalid_request'),
      );
    }
    if (chat.data.model !== options.model) {
      return sendJson(
        response,
        404,
        errorJson(`The model ${chat.data.model} does not exist`, 'model_not_found'),
      );
    }

    const outcome = await stageFault(behaviour);
    if (outcome === 'hang') return; // holds the socket until the caller gives up
    if (outcome === 'error') return sendDetail(response, 500, 'Internal Server Error');
    const streaming = chat.data.stream === true;
    if (outcome === 'garbage') {
      response.writeHead(200, { 'content-type': streaming ? 'text/event-stream' : 'application/json' });
      return void response.end(streaming ? 'data: {"choices": [\n\n' : '{"choices": ');
    }
    const text = minerAnswer(options.netuid, options.uid, prompt);
    const answer = openAiAnswer(options.model);
    if (!streaming) return sendJson(response, 200, completionJson(answer, text));
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(chunkEvent(answer, { role: 'assistant', content: '' }));
    for await (const word of pacedWords(text, behaviour)) {
      if (response.destroyed) return;
      response.write(chunkEvent(answer, { content: word }));
    }
    response.write(chunkEvent(answer, {}, 'stop'));
    response.end(DONE_EVENT);
  };

  return startMinerServer(serve, options.behaviour);
}

// FastAPI's HTTPException body, which SN1's miners answer with.
function sendDetail(response: ServerResponse, status: number, detail: string): void {
  sendJson(response, status, JSON.stringify({ detail }));
}

function sendJson(response: ServerResponse, status: number, json: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(json);
}
