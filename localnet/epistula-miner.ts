import { verifyEpistula } from '../bittensor/index.ts';
import { type Miner, type MinerIdentity, startMinerServer } from './miner-server.ts';
import { createOpenAiHandler, type Refusal } from './openai-server.ts';

export interface EpistulaMinerOptions extends MinerIdentity {
  /** The only `model` it serves. */
  model: string;
  /** Its embeddings' length when the request names none. */
  dimensions?: number;
}

/**
 * A localnet miner the way SN1's are run since 2025: an OpenAI-compatible server behind Epistula
 * (prompting neurons/miners/epistula_miner/miner.py verify_request): the request must be signed for the
 * miner's own hotkey, by an allowed caller, recently. That miner answers 400/401 (FastAPI `{"detail"}`);
 * this one answers 403 to strangers and 401 to bad signatures, as axons do, so both protocols fail alike.
 */
export function startEpistulaMiner(options: EpistulaMinerOptions): Promise<Miner> {
  const handler = createOpenAiHandler({
    netuid: options.netuid,
    uid: options.uid,
    model: options.model,
    dimensions: options.dimensions,
    seed: options.seed,
    failure: {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ detail: 'Internal Server Error' }),
    },
    authorize(request, body, behaviour) {
      // Strangers are turned away before any signature is checked, as bittensor axons blacklist before verify.
      const caller = request.headers['epistula-signed-by'];
      if (typeof caller !== 'string' || !options.isAllowedCaller(caller)) {
        return detail(403, `Signer ${String(caller)} may not call`);
      }
      const servedKey = behaviour.wrongHotkey ? options.rogueHotkey : options.hotkey;
      const verdict = verifyEpistula(request.headers, body, servedKey.ss58, Date.now());
      return verdict.ok ? undefined : detail(401, verdict.reason);
    },
  });
  return startMinerServer(handler, options.behaviour);
}

// FastAPI's HTTPException body, which SN1's miners answer with.
function detail(status: number, message: string): Refusal {
  return { status, body: JSON.stringify({ detail: message }) };
}
