import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { createTestSchema, TEST_DATABASE, type TestSchema } from './postgres.ts';

/** A TCP relay to PostgreSQL that can be cut and restored, as a database failover or partition would. */
async function startRelay(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  };
  await listen();
  return {
    port,
    async cut() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server?.close(resolve));
    },
    restore: listen,
  };
}

async function probe(stack: Stack, path: string) {
  const response = await fetch(`${stack.gateway.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe('readiness and liveness probes', () => {
  let stack: Stack;
  let schema: TestSchema;
  let relay: Awaited<ReturnType<typeof startRelay>>;

  beforeAll(async () => {
    schema = await createTestSchema('taogate_probes');
    const database = new URL(TEST_DATABASE);
    relay = await startRelay({ host: database.hostname, port: Number(database.port) });
    const viaRelay = schema.url.replace(`${database.host}/`, `127.0.0.1:${relay.port}/`);
    stack = await startStack({
      env: {
        TAOGATE_LEDGER: 'postgres',
        TAOGATE_DATABASE_URL: viaRelay,
        // Nothing listens on port 1: Redis is configured but down.
        TAOGATE_REDIS_URL: 'redis://127.0.0.1:1',
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await relay.cut();
    await schema.drop();
  });

  it('is ready with a metagraph and the ledger, reporting Redis down as degraded, not unready', async () => {
    const ready = await probe(stack, '/readyz');
    expect(ready).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { metagraph: true, ledger: true, redis: false }, degraded: ['redis'] },
    });
    expect(await probe(stack, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('turns unready while the ledger database is unreachable, alive all along, and ready again after', async () => {
    await relay.cut();
    const unready = await eventually(
      () => probe(stack, '/readyz'),
      (r) => r.status === 503,
    );
    expect(unready).toMatchObject({ status: 503, body: { status: 'not_ready', checks: { ledger: false } } });
    expect((await probe(stack, '/healthz')).status).toBe(200);

    await relay.restore();
    const ready = await eventually(
      () => probe(stack, '/readyz'),
      (r) => r.status === 200,
    );
    expect(ready).toMatchObject({ status: 200, body: { checks: { ledger: true } } });
  });
});
