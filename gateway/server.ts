import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
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

/** What a client may send before the request reaches the app: bounds against slow and oversized requests. */
export interface ServerLimits {
  /** Request line plus headers; more is 431. */
  maxHeaderBytes: number;
  /** Headers must be in within this (slowloris); else 408. */
  headersTimeoutMs: number;
  /** The whole request, body included, must be in within this; else 408. */
  requestTimeoutMs: number;
}

export const NODE_DEFAULT_LIMITS: ServerLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
};

/** Serves a Hono app on node:http, behind `front` when given; resolves once it listens. */
export async function listen(
  app: Hono,
  port: number,
  hostname: string,
  limits: ServerLimits = NODE_DEFAULT_LIMITS,
  front?: (next: RequestListener) => RequestListener,
): Promise<RunningServer> {
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks those timeouts only this often (30 s by default): a slow client would outlive them.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 2)),
  };
  // What @hono/node-server's serve() does, with room for a front before the app's listener.
  const appListener = getRequestListener(app.fetch, { hostname });
  const server = createServer(serverOptions, front ? front(appListener) : appListener);
  server.listen(port, hostname);
  server.on('clientError', answerClientError);
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

/**
 * Requests Node refuses before the app sees them (malformed, headers too large, too slow) get an error in
 * OpenAI's shape like every other, instead of Node's bare status line.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const [status, reason, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'The request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'The request took too long to arrive']
        : [400, 'Bad Request', 'The request is not valid HTTP'];
  const body = JSON.stringify({
    error: { message, type: 'invalid_request_error', param: null, code: `http_${status}` },
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
