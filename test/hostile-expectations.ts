import { expect } from 'vitest';

/** Every refusal is OpenAI's error shape, so SDKs raise their typed errors: `{error:{message,type,param,code}}`. */
export function expectOpenAIError(body: unknown): void {
  expect(body).toMatchObject({
    error: {
      message: expect.any(String),
      type: expect.any(String),
      param: expect.toSatisfy((v: unknown) => v === null || typeof v === 'string'),
      code: expect.toSatisfy((v: unknown) => v === null || typeof v === 'string'),
    },
  });
}
