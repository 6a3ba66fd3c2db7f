import { describe, expect, it } from 'vitest';
import { chatCompletionShape, completeJson, textCompletionShape, usageOf } from './response-shapes.ts';

describe('complete answers written from a JSON literal of their content', () => {
  const awkward = ['plain', 'quotes " and \\ and\nnew lines', '\u0000content\u0000', 'émoji 🦊 \u2028', ''];

  it('are the JSON the shape itself gives, whatever the content', () => {
    const metered = { ...usageOf('prompt', 'answer'), cost_rao: 1200 };
    for (const shape of [chatCompletionShape, textCompletionShape]) {
      for (const [content, usage] of awkward.flatMap((text) => [
        [text, usageOf('prompt', 'answer')] as const,
        [text, metered] as const,
      ])) {
        const json = completeJson(shape, 'chatcmpl-1', 'sn18/cortex-chat', JSON.stringify(content), usage);
        const parsed = JSON.parse(json);
        const expected = shape.complete('chatcmpl-1', 'sn18/cortex-chat', content, usage) as object;
        expect({ ...parsed, created: 0 }).toEqual({ ...expected, created: 0 });
      }
    }
  });
});
