import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from '../test/postgres.ts';
import { generateApiKey } from './api-keys.ts';
import type { Ledger, ReserveInput } from './ledger.ts';
import { type LedgerLocation, openLedger } from './open-ledger.ts';

const silent = pino({ level: 'silent' });
let coldkeys = 0;
const newColdkey = () => `5Coldkey${process.pid}x${++coldkeys}`;

interface StoreUnderTest {
  location: LedgerLocation;
  dispose(): Promise<void>;
}

const stores: Record<'sqlite' | 'postgres', () => Promise<StoreUnderTest>> = {
  async sqlite() {
    const dir = mkdtempSync(join(tmpdir(), 'taogate-ledger-'));
    return {
      location: { kind: 'sqlite', path: join(dir, 'ledger.db') },
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  async postgres() {
    const schema: TestSchema = await createTestSchema('taogate_ledger');
    return { location: { kind: 'postgres', url: schema.url }, dispose: () => schema.drop() };
  },
};

describe.each(['sqlite', 'postgres'] as const)('ledger on %s', (kind) => {
  let store: StoreUnderTest;
  let ledger: Ledger;
  const now = 1_700_000_000_000;

  beforeAll(async () => {
    store = await stores[kind]();
    ledger = await openLedger(store.location, silent);
  });
  afterAll(async () => {
    await ledger?.close();
    await store?.dispose();
  });

  /** An account funded by one deposit, as the chain watcher would credit it. */
  const fundedAccount = async (rao: bigint) => {
    const account = await ledger.createAccount({ coldkey: newColdkey(), nowMs: now });
    if (rao > 0n) {
      await ledger.creditDeposit({
        blockHash: `0x${account.id}`,
        eventIndex: 1,
        blockNumber: 1,
        extrinsicIndex: 1,
        fromColdkey: account.coldkey,
        amountRao: rao,
        nowMs: now,
      });
    }
    return account;
  };
  const reserveInput = (accountId: string, amountRao: bigint, extra: Partial<ReserveInput> = {}) => ({
    accountId,
    keyId: null,
    amountRao,
    owner: 'instance-a',
    nowMs: now,
    ...extra,
  });
  const settlement = (costRao: bigint) => ({
    costRao,
    netuid: 1,
    model: 'sn1/apex-chat',
    inputTokens: 10,
    outputTokens: 20,
    images: 0,
    nowMs: now,
  });

  it('runs its migrations once, however often it is opened', async () => {
    const again = await openLedger(store.location, silent);
    await again.close();
  });

  it('holds a reservation, charges the actual cost on commit and gives the rest back', async () => {
    const account = await fundedAccount(10_000n);
    const reserved = await ledger.reserve(reserveInput(account.id, 4_000n));
    expect(reserved.kind).toBe('reserved');
    if (reserved.kind !== 'reserved') return;
    expect(await ledger.account(account.id)).toMatchObject({ reservedRao: 4_000n, availableRao: 6_000n });
    expect(await ledger.commit(reserved.chargeId, settlement(1_500n))).toBe(true);
    expect(await ledger.account(account.id)).toMatchObject({
      balanceRao: 8_500n,
      reservedRao: 0n,
      availableRao: 8_500n,
    });
    expect(await ledger.commit(reserved.chargeId, settlement(1_500n))).toBe(false);
    expect(await ledger.release(reserved.chargeId)).toBe(false);
  });

  it('never charges more than was reserved', async () => {
    const account = await fundedAccount(1_000n);
    const reserved = await ledger.reserve(reserveInput(account.id, 600n));
    if (reserved.kind !== 'reserved') throw new Error(reserved.kind);
    await ledger.commit(reserved.chargeId, settlement(5_000n));
    expect((await ledger.account(account.id))?.balanceRao).toBe(400n);
  });

  it('refuses a reservation the balance cannot cover, naming what is available', async () => {
    const account = await fundedAccount(1_000n);
    await ledger.reserve(reserveInput(account.id, 700n));
    expect(await ledger.reserve(reserveInput(account.id, 301n))).toEqual({
      kind: 'insufficient-balance',
      availableRao: 300n,
    });
  });

  it('lets exactly as many concurrent reservations through as the balance pays for', async () => {
    const account = await fundedAccount(150_000n);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, () => ledger.reserve(reserveInput(account.id, 1_000n))),
    );
    const reserved = outcomes.filter((o) => o.kind === 'reserved');
    expect(reserved).toHaveLength(150);
    await Promise.all(
      reserved.map((o) => (o.kind === 'reserved' ? ledger.commit(o.chargeId, settlement(1_000n)) : null)),
    );
    expect(await ledger.account(account.id)).toMatchObject({ balanceRao: 0n, reservedRao: 0n });
  });

  it('charges an Idempotency-Key once and replays its answer', async () => {
    const account = await fundedAccount(10_000n);
    const idempotency = { key: 'retry-1', requestHash: 'h1' };
    const first = await ledger.reserve(reserveInput(account.id, 1_000n, { idempotency }));
    if (first.kind !== 'reserved') throw new Error(first.kind);
    expect(await ledger.reserve(reserveInput(account.id, 1_000n, { idempotency }))).toEqual({
      kind: 'idempotent-in-progress',
    });
    const body = new TextEncoder().encode('{"ok":true}');
    await ledger.commit(first.chargeId, {
      ...settlement(700n),
      response: { status: 200, contentType: 'application/json', body },
    });
    const retry = await ledger.reserve(reserveInput(account.id, 1_000n, { idempotency }));
    expect(retry).toMatchObject({ kind: 'idempotent-replay', response: { status: 200, costRao: 700n } });
    if (retry.kind === 'idempotent-replay') expect(new Uint8Array(retry.response!.body)).toEqual(body);
    expect(
      await ledger.reserve(
        reserveInput(account.id, 1_000n, { idempotency: { key: 'retry-1', requestHash: 'h2' } }),
      ),
    ).toEqual({ kind: 'idempotent-mismatch' });
    expect((await ledger.account(account.id))?.balanceRao).toBe(9_300n);
    expect(await ledger.forgetStoredResponses(now + 1)).toBeGreaterThanOrEqual(1);
    expect(await ledger.reserve(reserveInput(account.id, 1_000n, { idempotency }))).toEqual({
      kind: 'idempotent-replay',
      response: null,
    });
  });

  it('lets a failed Idempotency-Key request be tried again', async () => {
    const account = await fundedAccount(10_000n);
    const idempotency = { key: 'retry-after-failure', requestHash: 'h' };
    const first = await ledger.reserve(reserveInput(account.id, 1_000n, { idempotency }));
    if (first.kind !== 'reserved') throw new Error(first.kind);
    await ledger.release(first.chargeId);
    expect((await ledger.reserve(reserveInput(account.id, 1_000n, { idempotency }))).kind).toBe('reserved');
  });

  it("stops a key at its spend cap and refuses a revoked key's reservations", async () => {
    const account = await fundedAccount(10_000n);
    const { id, hash } = generateApiKey();
    await ledger.addKey({ id, accountId: account.id, hash, spendCapRao: 1_500n, nowMs: now });
    const first = await ledger.reserve(reserveInput(account.id, 1_000n, { keyId: id }));
    if (first.kind !== 'reserved') throw new Error(first.kind);
    expect(await ledger.reserve(reserveInput(account.id, 1_000n, { keyId: id }))).toMatchObject({
      kind: 'spend-cap-reached',
      capRao: 1_500n,
    });
    await ledger.commit(first.chargeId, settlement(1_000n));
    expect((await ledger.listKeys(account.id))[0]?.spentRao).toBe(1_000n);
    expect(await ledger.revokeKey(id, now)).toBe(true);
    expect(await ledger.reserve(reserveInput(account.id, 100n, { keyId: id }))).toEqual({
      kind: 'key-revoked',
    });
  });

  it('credits a deposit once, and keeps one from an unknown coldkey until its account exists', async () => {
    const coldkey = newColdkey();
    const deposit = {
      blockHash: '0xAbC1',
      eventIndex: 3,
      blockNumber: 7,
      extrinsicIndex: 1,
      fromColdkey: coldkey,
      amountRao: 5_000n,
      nowMs: now,
    };
    expect(await ledger.creditDeposit(deposit)).toBe('unclaimed');
    expect(await ledger.creditDeposit(deposit)).toBe('duplicate');
    expect(await ledger.creditDeposit({ ...deposit, blockHash: '0xabc1' })).toBe('duplicate');
    const account = await ledger.createAccount({ coldkey, nowMs: now });
    expect(account.balanceRao).toBe(5_000n);
    expect(await ledger.creditDeposit({ ...deposit, eventIndex: 4 })).toBe('credited');
    expect((await ledger.accountByColdkey(coldkey))?.balanceRao).toBe(10_000n);
  });

  it('credits a transfer once when a re-org shows it again under another block hash', async () => {
    const account = await fundedAccount(0n);
    const deposit = {
      blockHash: '0xaaaa',
      eventIndex: 1,
      blockNumber: 9,
      extrinsicIndex: 1,
      transferId: '0xextrinsic:0',
      fromColdkey: account.coldkey,
      amountRao: 700n,
      nowMs: now,
    };
    expect(await ledger.creditDeposit(deposit)).toBe('credited');
    expect(await ledger.creditDeposit({ ...deposit, blockHash: '0xbbbb', eventIndex: 2 })).toBe('duplicate');
    expect(await ledger.creditDeposit({ ...deposit, blockHash: '0xbbbb', transferId: '0xextrinsic:1' })).toBe(
      'credited',
    );
    expect((await ledger.account(account.id))?.balanceRao).toBe(1_400n);
  });

  it('keeps the deposit cursor per address', async () => {
    expect(await ledger.depositCursor('5Deposit')).toBeUndefined();
    await ledger.setDepositCursor('5Deposit', 12);
    await ledger.setDepositCursor('5Deposit', 13);
    expect(await ledger.depositCursor('5Deposit')).toBe(13);
  });

  it('releases the reservations of an instance whose lease lapsed, or that restarted, and no others', async () => {
    const account = await fundedAccount(10_000n);
    await ledger.heartbeat('live', now);
    await ledger.heartbeat('dead', now - 60_000);
    await ledger.heartbeat('restarted', now);
    for (const owner of ['live', 'dead', 'restarted', 'never-seen']) {
      await ledger.reserve(reserveInput(account.id, 1_000n, { owner }));
    }
    const released = await ledger.releaseAbandoned({
      leaseMs: 15_000,
      nowMs: now,
      restartedInstance: 'restarted',
    });
    expect(released).toBeGreaterThanOrEqual(3);
    expect(await ledger.pendingReservations(account.id)).toBe(1);
    expect(await ledger.account(account.id)).toMatchObject({ reservedRao: 1_000n, balanceRao: 10_000n });
  });

  it('sums committed charges per key, subnet, model and day', async () => {
    const account = await fundedAccount(100_000n);
    const { id, hash } = generateApiKey();
    await ledger.addKey({ id, accountId: account.id, hash, nowMs: now });
    for (const [netuid, day] of [
      [1, 0],
      [1, 0],
      [18, 0],
      [1, 1],
    ] as const) {
      const reserved = await ledger.reserve(reserveInput(account.id, 1_000n, { keyId: id }));
      if (reserved.kind !== 'reserved') throw new Error(reserved.kind);
      await ledger.commit(reserved.chargeId, {
        ...settlement(100n),
        netuid,
        model: `sn${netuid}/m`,
        nowMs: now + day * 86_400_000,
      });
    }
    const rows = await ledger.usage({ accountId: account.id });
    expect(rows.map((r) => [r.day, r.netuid, r.requests, r.costRao, r.outputTokens])).toEqual([
      ['2023-11-14', 1, 2, 200n, 40],
      ['2023-11-14', 18, 1, 100n, 20],
      ['2023-11-15', 1, 1, 100n, 20],
    ]);
    expect(await ledger.usage({ accountId: account.id, since: '2023-11-15' })).toHaveLength(1);
  });

  it('keeps credits minus commits equal to the balance under any interleaving', async () => {
    type Op =
      | { op: 'reserve'; amount: number }
      | { op: 'commit'; which: number; cost: number }
      | { op: 'release'; which: number }
      | { op: 'deposit'; amount: number; replay: boolean }
      | { op: 'sweep' };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('reserve' as const), amount: fc.integer({ min: 0, max: 5_000 }) }),
      fc.record({
        op: fc.constant('commit' as const),
        which: fc.nat(),
        cost: fc.integer({ min: 0, max: 6_000 }),
      }),
      fc.record({ op: fc.constant('release' as const), which: fc.nat() }),
      fc.record({
        op: fc.constant('deposit' as const),
        amount: fc.integer({ min: 1, max: 4_000 }),
        replay: fc.boolean(),
      }),
      fc.constant({ op: 'sweep' as const }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        async (lanes) => {
          const account = await ledger.createAccount({ coldkey: newColdkey(), nowMs: now });
          const owner = `prop-${account.id}`;
          await ledger.heartbeat(owner, now);
          const reservedAmounts = new Map<string, bigint>();
          const pending = new Set<string>();
          let credits = 0n;
          let commits = 0n;
          let depositSeq = 0;
          const chargeAt = (which: number) => [...reservedAmounts.keys()][which % reservedAmounts.size]!;
          // Each lane runs its operations in order; the lanes run concurrently, so their operations interleave.
          const runLane = async (ops: Op[]) => {
            for (const step of ops) {
              if (step.op === 'reserve') {
                const amount = BigInt(step.amount);
                const outcome = await ledger.reserve(reserveInput(account.id, amount, { owner }));
                if (outcome.kind === 'reserved') {
                  reservedAmounts.set(outcome.chargeId, amount);
                  pending.add(outcome.chargeId);
                }
              } else if (step.op === 'commit' && reservedAmounts.size > 0) {
                const chargeId = chargeAt(step.which);
                const cost = BigInt(step.cost);
                if (await ledger.commit(chargeId, settlement(cost))) {
                  const held = reservedAmounts.get(chargeId)!;
                  commits += cost < held ? cost : held;
                  pending.delete(chargeId);
                }
              } else if (step.op === 'release' && reservedAmounts.size > 0) {
                const chargeId = chargeAt(step.which);
                if (await ledger.release(chargeId)) pending.delete(chargeId);
              } else if (step.op === 'deposit') {
                const index = step.replay && depositSeq > 0 ? depositSeq : ++depositSeq;
                const outcome = await ledger.creditDeposit({
                  blockHash: `0x${account.id}`,
                  eventIndex: index,
                  blockNumber: index,
                  extrinsicIndex: null,
                  fromColdkey: account.coldkey,
                  amountRao: BigInt(step.amount),
                  nowMs: now,
                });
                if (outcome === 'credited') credits += BigInt(step.amount);
              } else if (step.op === 'sweep') {
                // The owner's lease is live: the sweep must leave its reservations alone.
                await ledger.releaseAbandoned({ leaseMs: 15_000, nowMs: now });
              }
              expect((await ledger.account(account.id))!.availableRao).toBeGreaterThanOrEqual(0n);
            }
          };
          await Promise.all(lanes.map(runLane));
          const state = (await ledger.account(account.id))!;
          expect(state.balanceRao).toBe(credits - commits);
          expect(state.reservedRao).toBe(
            [...pending].reduce((sum, id) => sum + reservedAmounts.get(id)!, 0n),
          );
        },
      ),
      { numRuns: kind === 'sqlite' ? 40 : 15 },
    );
  });
});
