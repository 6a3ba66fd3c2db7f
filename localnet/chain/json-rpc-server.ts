import { randomBytes } from 'node:crypto';
import { type WebSocket, WebSocketServer } from 'ws';

/** A JSON-RPC failure with its stable code (-32601 unknown method, -32602 bad params, 4003 unknown block…). */
export class JsonRpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'JsonRpcError';
    this.code = code;
  }
}

export type MethodHandler = (params: readonly unknown[]) => unknown;

/** A live subscription: what to send first, and what to send on each published event (undefined: nothing). */
export interface Subscription<E> {
  initial(): unknown;
  onEvent(event: E): unknown;
}

export interface SubscriptionKind<E> {
  /** `method` of the notifications, e.g. `chain_newHead`. */
  notification: string;
  /** Methods that end it, e.g. `chain_unsubscribeNewHead`. */
  unsubscribe: readonly string[];
  start(params: readonly unknown[]): Subscription<E>;
}

export interface JsonRpcServerOptions<E> {
  host: string;
  port: number;
  methods: Readonly<Record<string, MethodHandler>>;
  /** Keyed by subscribe method name (several names may share a kind). */
  subscriptions: Readonly<Record<string, SubscriptionKind<E>>>;
}

export interface JsonRpcServer<E> {
  readonly port: number;
  /** Every method name served, for `rpc_methods`. */
  readonly methodNames: readonly string[];
  publish(event: E): void;
  disconnectAll(): void;
  stopListening(): Promise<void>;
  startListening(): Promise<void>;
  close(): Promise<void>;
}

interface ClientSubscription<E> {
  kind: SubscriptionKind<E>;
  subscription: Subscription<E>;
}

/** JSON-RPC 2.0 over WebSocket with Substrate-style pubsub (`{method, params: {subscription, result}}`). */
export async function startJsonRpcServer<E>(options: JsonRpcServerOptions<E>): Promise<JsonRpcServer<E>> {
  const clients = new Map<WebSocket, Map<string, ClientSubscription<E>>>();
  const unsubscribeMethods = new Set(
    Object.values(options.subscriptions).flatMap((kind) => kind.unsubscribe),
  );
  const methodNames = [
    ...Object.keys(options.methods),
    ...Object.keys(options.subscriptions),
    ...unsubscribeMethods,
  ].sort();
  let port = options.port;
  let server: WebSocketServer | undefined;

  const send = (socket: WebSocket, message: unknown): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };

  const notify = (socket: WebSocket, id: string, kind: SubscriptionKind<E>, result: unknown): void => {
    if (result === undefined) return;
    send(socket, { jsonrpc: '2.0', method: kind.notification, params: { subscription: id, result } });
  };

  const call = (socket: WebSocket, method: string, params: readonly unknown[]): unknown => {
    const handler = options.methods[method];
    if (handler) return handler(params);
    const kind = options.subscriptions[method];
    const subscriptions = clients.get(socket);
    if (kind && subscriptions) {
      const id = randomBytes(8).toString('hex');
      const subscription = kind.start(params);
      subscriptions.set(id, { kind, subscription });
      // The id must reach the client before the first notification that carries it.
      queueMicrotask(() => notify(socket, id, kind, subscription.initial()));
      return id;
    }
    if (unsubscribeMethods.has(method) && subscriptions) {
      const id = params[0];
      if (typeof id !== 'string' || !subscriptions.get(id)?.kind.unsubscribe.includes(method)) return false;
      return subscriptions.delete(id);
    }
    throw new JsonRpcError(-32601, `Method not found: ${method}`);
  };

  const onMessage = (socket: WebSocket, data: string): void => {
    let request: unknown;
    try {
      request = JSON.parse(data);
    } catch {
      send(socket, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    const { id = null, method, params = [] } = isRecord(request) ? request : {};
    if (typeof method !== 'string' || !Array.isArray(params)) {
      send(socket, { jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid request' } });
      return;
    }
    try {
      send(socket, { jsonrpc: '2.0', id, result: call(socket, method, params) });
    } catch (error) {
      const rpcError = error instanceof JsonRpcError ? error : new JsonRpcError(-32603, String(error));
      send(socket, { jsonrpc: '2.0', id, error: { code: rpcError.code, message: rpcError.message } });
    }
  };

  const listen = async (): Promise<void> => {
    const wss = new WebSocketServer({ host: options.host, port });
    wss.on('connection', (socket) => {
      clients.set(socket, new Map());
      socket.on('message', (data) => onMessage(socket, data.toString()));
      socket.on('close', () => clients.delete(socket));
      socket.on('error', () => socket.terminate());
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const address = wss.address();
    if (address !== null && typeof address !== 'string') port = address.port;
    server = wss;
  };

  const disconnectAll = (): void => {
    for (const socket of clients.keys()) socket.terminate();
    clients.clear();
  };

  const stopListening = async (): Promise<void> => {
    const wss = server;
    server = undefined;
    disconnectAll();
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    methodNames,
    publish(event) {
      for (const [socket, subscriptions] of clients) {
        for (const [id, { kind, subscription }] of subscriptions)
          notify(socket, id, kind, subscription.onEvent(event));
      }
    },
    disconnectAll,
    stopListening,
    startListening: () => (server ? Promise.resolve() : listen()),
    close: stopListening,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
