import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningServer {
  url: string;
  /**
   * Stops accepting connections, lets requests and streams in flight finish for up to `drainMs`, then calls
   * `onDrainTimeout` (the gateway ends what is left in its own words) and cuts connections still open
   * after a short grace.
   */
  close(drainMs?: number, onDrainTimeout?: () => void): Promise<void>;
}

/** Time for error events and 503s written at the drain timeout to reach clients before sockets are cut. */
const CUT_GRACE_MS = 1000;

/** Serves a Hono app on node:http; resolves once it listens. */
export async function listen(app: Hono, port: number, hostname: string): Promise<RunningServer> {
  const server = serve({ fetch: app.fetch, port, hostname });
  // `once` rejects on 'error', so a taken port fails start-up with EADDRINUSE instead of crashing later.
  if (!server.listening) await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    async close(drainMs = 0, onDrainTimeout) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (!('closeAllConnections' in server)) return closed;
      // Kept-alive connections hold close() open once their request is answered: sweep them as they go idle.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      let cut: NodeJS.Timeout | undefined;
      const deadline = setTimeout(() => {
        onDrainTimeout?.();
        cut = setTimeout(() => server.closeAllConnections(), onDrainTimeout ? CUT_GRACE_MS : 0);
      }, drainMs);
      server.closeIdleConnections();
      await closed;
      clearInterval(sweep);
      clearTimeout(deadline);
      clearTimeout(cut);
    },
  };
}
