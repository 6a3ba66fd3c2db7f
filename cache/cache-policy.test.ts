import { describe, expect, it } from 'vitest';
import { type CachePolicyInput, cachePolicyOf } from './cache-policy.ts';

const policy = (input: Partial<CachePolicyInput>) =>
  cachePolicyOf({
    header: undefined,
    optIn: undefined,
    cacheControl: undefined,
    deterministic: false,
    ...input,
  });

describe('cache policy', () => {
  it('caches deterministic requests by default and sampled ones only when asked to', () => {
    expect(policy({ deterministic: true })).toEqual({ ok: true, policy: { use: true, read: true } });
    expect(policy({})).toEqual({ ok: true, policy: { use: false } });
    expect(policy({ header: 'on' })).toEqual({ ok: true, policy: { use: true, read: true } });
    expect(policy({ optIn: true })).toEqual({ ok: true, policy: { use: true, read: true } });
  });

  it('lets a client opt out, the header taking precedence over the body', () => {
    expect(policy({ deterministic: true, header: 'off' })).toEqual({ ok: true, policy: { use: false } });
    expect(policy({ deterministic: true, optIn: false })).toEqual({ ok: true, policy: { use: false } });
    expect(policy({ header: 'off', optIn: true })).toEqual({ ok: true, policy: { use: false } });
  });

  it('honours Cache-Control: no-store stays out, no-cache and max-age=0 refresh', () => {
    expect(policy({ deterministic: true, cacheControl: 'private, no-store' })).toEqual({
      ok: true,
      policy: { use: false },
    });
    expect(policy({ deterministic: true, cacheControl: 'No-Cache' })).toEqual({
      ok: true,
      policy: { use: true, read: false },
    });
    expect(policy({ deterministic: true, cacheControl: 'max-age = 0' })).toEqual({
      ok: true,
      policy: { use: true, read: false },
    });
  });

  it('refuses a switch value it does not know', () => {
    expect(policy({ header: 'sometimes' })).toMatchObject({ ok: false, param: 'x-taogate-cache' });
  });
});
