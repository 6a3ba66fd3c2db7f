import { describe, expect, it } from 'vitest';
import { dueSubnets, MIN_TEMPO_REFRESH_MS, refreshPolicy } from './refresh-schedule.ts';

describe('when subnets are re-read', () => {
  const subnets = [
    { netuid: 1, tempo: 10 },
    { netuid: 2, tempo: 100 },
  ];
  const readAtBlock100 = new Map([
    [1, { block: 100, at: 0 }],
    [2, { block: 100, at: 0 }],
  ]);

  it('reads a subnet it has never read at once', () => {
    expect(dueSubnets(subnets, new Map(), { block: 1, now: 0 }, refreshPolicy(undefined))).toEqual([1, 2]);
  });

  it('by default re-reads each subnet once per its tempo', () => {
    const policy = refreshPolicy(undefined);
    const later = 60_000;
    expect(dueSubnets(subnets, readAtBlock100, { block: 109, now: later }, policy)).toEqual([]);
    expect(dueSubnets(subnets, readAtBlock100, { block: 110, now: later }, policy)).toEqual([1]);
    expect(dueSubnets(subnets, readAtBlock100, { block: 200, now: later }, policy)).toEqual([1, 2]);
  });

  it('never re-reads faster than every few seconds, however short the tempo', () => {
    const policy = refreshPolicy(undefined);
    const soon = MIN_TEMPO_REFRESH_MS - 1;
    expect(dueSubnets(subnets, readAtBlock100, { block: 500, now: soon }, policy)).toEqual([]);
    expect(dueSubnets(subnets, readAtBlock100, { block: 500, now: MIN_TEMPO_REFRESH_MS }, policy)).toEqual([
      1, 2,
    ]);
  });

  it('with a fixed refreshMs re-reads every subnet on that period, on a new block', () => {
    const policy = refreshPolicy(1_000);
    expect(dueSubnets(subnets, readAtBlock100, { block: 101, now: 999 }, policy)).toEqual([]);
    expect(dueSubnets(subnets, readAtBlock100, { block: 101, now: 1_000 }, policy)).toEqual([1, 2]);
    expect(dueSubnets(subnets, readAtBlock100, { block: 100, now: 5_000 }, policy)).toEqual([]);
  });
});
