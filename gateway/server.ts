import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serves a Hono app on node:http; resolves once it listens. */
export async function listen(app: Hono, port: number, hostname: string): Promise<RunningServer> {
  const server = serve({ fetch: app.fetch, port, hostname });
  // `once` rejects on 'error', so a taken port fails start-up with EADDRINUSE instead of crashing later.
  if (!server.listening) await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
