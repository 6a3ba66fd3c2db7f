import type { Ledger } from '../billing/index.ts';
import { type Acknowledged, callChat, type LoadReport, type Replica, sleep } from './scale-out-load.ts';
import { CREDIT_RAO } from './scale-out-stores.ts';

export interface Verdict {
  name: string;
  verdict: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

/** `ok` undefined: the check could not run (SKIP). */
export function verdict(name: string, ok: boolean | undefined, detail: string): Verdict {
  return { name, verdict: ok === undefined ? 'SKIP' : ok ? 'PASS' : 'FAIL', detail };
}

/** A check and the requests it sent (charged like any other, so the ledger check counts them). */
export interface Checked {
  verdict: Verdict;
  requests: number;
}

/** A deterministic request answered by one replica is a cache hit on the others. */
export async function checkSharedCache(replicas: Replica[], model: string, prompt: string, apiKey?: string) {
  const call = { model, prompt, stream: false, temperature: 0, apiKey };
  const statuses: string[] = [];
  for (const replica of replicas) {
    const result = await callChat(replica.gateway.url, call);
    statuses.push(
      `${replica.name} ${result.headers?.get('x-taogate-cache') ?? result.networkError ?? result.answer?.status}`,
    );
  }
  const [first, ...others] = statuses.map((s) => s.split(' ')[1]);
  const ok = first === 'miss' && others.every((s) => s === 'hit');
  return {
    verdict: verdict('shared cache across replicas', ok, statuses.join(', ')),
    requests: replicas.length,
  };
}

/** Identical requests sent at once to all the replicas reach the subnet's miners once. */
export async function checkCoalescing(
  replicas: Replica[],
  miners: { received: number }[],
  call: { model: string; prompt: string; apiKey?: string },
): Promise<Checked> {
  const identical = { ...call, stream: false, temperature: 0 };
  const received = () => miners.reduce((sum, miner) => sum + miner.received, 0);
  const before = received();
  const results = await Promise.all(
    Array.from({ length: 2 * replicas.length }, (_, i) =>
      callChat(replicas[i % replicas.length]!.gateway.url, identical),
    ),
  );
  const upstream = received() - before;
  const how = results.map((r) =>
    r.headers?.get('x-taogate-coalesced') === '1'
      ? 'coalesced'
      : (r.headers?.get('x-taogate-cache') ?? r.answer?.status ?? r.networkError),
  );
  const ok =
    upstream === 1 &&
    new Set(results.map((r) => r.answer?.text)).size === 1 &&
    results.every((r) => r.answer?.complete);
  const detail =
    `${results.length} identical requests over ${replicas.length} replicas → ${upstream} miner call(s) ` +
    `(${how.join(', ')})`;
  return { verdict: verdict('coalescing across replicas', ok, detail), requests: results.length };
}

/** Every acknowledged request is in the ledger: its Idempotency-Key replays the same answer, free. */
export async function checkNothingLost(survivor: Replica, acknowledged: Acknowledged[]): Promise<Verdict> {
  let lost = 0;
  let example = '';
  for (const ack of acknowledged) {
    const replay = await callChat(survivor.gateway.url, ack.call);
    const replayed = replay.headers?.get('idempotent-replayed') === 'true';
    if (!replayed || replay.answer?.text !== ack.text) {
      lost++;
      example ||=
        `${ack.call.idempotencyKey} (answered by ${ack.replica}): ` +
        `${replay.networkError ?? replay.answer?.status} replayed=${replayed}`;
    }
  }
  const detail = `${acknowledged.length - lost}/${acknowledged.length} replayed from the ledger`;
  return verdict('no acknowledged request lost', lost === 0, example ? `${detail}; e.g. ${example}` : detail);
}

/**
 * Credits minus committed charges is the balance, to the rao, and no reservation is left once the dead
 * replica's lease has lapsed. Every acknowledged answer (and check request) was charged.
 */
export async function checkLedgerBalances(
  ledger: Ledger,
  accountId: string,
  reports: LoadReport[],
  checkRequests: number,
  leaseMs: number,
): Promise<Verdict> {
  const until = Date.now() + leaseMs * 3 + 5000;
  let pending = await ledger.pendingReservations(accountId);
  while (pending > 0 && Date.now() < until) {
    await sleep(250);
    pending = await ledger.pendingReservations(accountId);
  }
  const account = await ledger.account(accountId);
  const usage = await ledger.usage({ accountId });
  const charged = usage.reduce((sum, row) => sum + row.costRao, 0n);
  const charges = usage.reduce((sum, row) => sum + row.requests, 0);
  const acknowledged = reports.flatMap((r) => r.acknowledged);
  const billedToClients = acknowledged.reduce((sum, ack) => sum + ack.costRao, 0n);
  const unacknowledged = charges - acknowledged.length - checkRequests;
  const ok =
    account?.balanceRao === CREDIT_RAO - charged &&
    account.reservedRao === 0n &&
    pending === 0 &&
    unacknowledged >= 0 &&
    billedToClients <= charged;
  return verdict(
    'ledger balances exactly',
    ok,
    `credited ${CREDIT_RAO} − charged ${charged} = ${CREDIT_RAO - charged}, balance ${account?.balanceRao}, ` +
      `reserved ${account?.reservedRao}, ${pending} reservations pending; ${charges} charges = ` +
      `${acknowledged.length} acknowledged answers + ${checkRequests} check requests + ${unacknowledged} ` +
      'answers cut by a replica going down (charged for what was produced, never acknowledged)',
  );
}
