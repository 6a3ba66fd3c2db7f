import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { newRequestTelemetry, requestLogFields, withRequest } from './request-context.ts';

const request = (id: string) =>
  newRequestTelemetry({
    id,
    startedAt: performance.now(),
    span: undefined,
    traceContext: undefined,
    operation: 'chat',
  });

describe('request ids in logs', () => {
  it('puts the id of the request being served on every JSON log line written while serving it', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const logger = pino({ mixin: requestLogFields }, sink);

    logger.info('start-up');
    await Promise.all([
      withRequest(request('req-a'), async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        logger.warn({ netuid: 1 }, 'miner failed');
      }),
      withRequest(request('req-b'), async () => logger.info('answered')),
    ]);

    expect(lines.map(({ msg, req_id }) => ({ msg, req_id }))).toEqual([
      { msg: 'start-up', req_id: undefined },
      { msg: 'answered', req_id: 'req-b' },
      { msg: 'miner failed', req_id: 'req-a' },
    ]);
    expect(lines[2]).toMatchObject({ level: 40, netuid: 1 });
  });
});
