import { describe, expect, it } from 'vitest';
import { cacheKeyOf, canonicalJson } from './cache-key.ts';

describe('cache keys', () => {
  it('ignore the order of object keys and undefined members', () => {
    const a = {
      model: 'sn1/x',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0,
      seed: undefined,
    };
    const b = { temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'sn1/x' };
    expect(cacheKeyOf('chat', a)).toBe(cacheKeyOf('chat', b));
  });

  it('differ when anything that decides the answer differs', () => {
    const base = { model: 'sn1/x', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };
    const keys = new Set([
      cacheKeyOf('chat', base),
      cacheKeyOf('embeddings', base),
      cacheKeyOf('chat', { ...base, model: 'sn1/y' }),
      cacheKeyOf('chat', { ...base, temperature: 0.5 }),
      cacheKeyOf('chat', { ...base, max_tokens: 10 }),
      cacheKeyOf('chat', { ...base, messages: [{ role: 'system', content: 'hi' }] }),
      cacheKeyOf('chat', { ...base, messages: [{ role: 'user', content: 'hi ' }] }),
    ]);
    expect(keys.size).toBe(7);
  });

  it('keep array order, which is meaning', () => {
    expect(canonicalJson(['a', 'b'])).not.toBe(canonicalJson(['b', 'a']));
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
  });
});
