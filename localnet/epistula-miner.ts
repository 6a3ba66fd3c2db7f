import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { verifyEpistula } from '../bittensor/index.ts';
import { type AnswerWire, createFaultStage, writeStaged } from './behaviour.ts';
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
    const text = minerAnswer(options.netuid, options.uid, prompt);
    const wire = chat.data.stream === true ? streamWire(options.model) : wholeWire(options.model);
    await writeStaged(outcome, response, wire, text, behaviour);
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

// Epistula signs requests only: an answer does not say which hotkey sent it, so no impostor can be staged.
const FAILURE = {
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ detail: 'Internal Server Error' }),
};

function streamWire(model: string): AnswerWire {
  const answer = openAiAnswer(model);
  return {
    streaming: true,
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    impostorHeaders: undefined,
    open: chunkEvent(answer, { role: 'assistant', content: '' }),
    piece: (word) => chunkEvent(answer, { content: word }),
    close: chunkEvent(answer, {}, 'stop') + DONE_EVENT,
    failure: FAILURE,
  };
}

function wholeWire(model: string): AnswerWire {
  // A placeholder marks where the content goes, so the answer can be written (or cut) inside its string.
  const [open, close] = completionJson(openAiAnswer(model), '\u0000').split('"\\u0000"') as [string, string];
  return {
    streaming: false,
    headers: { 'content-type': 'application/json' },
    impostorHeaders: undefined,
    open: `${open}"`,
    piece: (word) => JSON.stringify(word).slice(1, -1),
    close: `"${close}`,
    failure: FAILURE,
  };
}
