import { isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { PooledIdGenerator } from './span-ids.ts';

describe('PooledIdGenerator', () => {
  it('hands out valid, distinct W3C trace and span ids, across refills of its pool', () => {
    const ids = new PooledIdGenerator();
    const traceIds = Array.from({ length: 2000 }, () => ids.generateTraceId());
    const spanIds = Array.from({ length: 4000 }, () => ids.generateSpanId());
    expect(traceIds.every(isValidTraceId)).toBe(true);
    expect(spanIds.every(isValidSpanId)).toBe(true);
    expect(traceIds.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(spanIds.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
    expect(new Set(traceIds).size).toBe(traceIds.length);
    expect(new Set(spanIds).size).toBe(spanIds.length);
  });
});
