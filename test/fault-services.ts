import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A Redis or PostgreSQL server of the test's own, on a port of its own, that the test may stop and start
 * again mid-load: the machine's shared servers (6379, 5432) serve other tests at the same time and must
 * never be stopped.
 */
export interface PrivateService {
  readonly url: string;
  readonly running: boolean;
  /** Stops the server the way a crash or a failover would look to clients: connections drop at once. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same data. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Redis server with no persistence: what it held is gone after a stop, as after a crash. */
export async function startPrivateRedis(): Promise<PrivateService> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  return startService(
    `redis://127.0.0.1:${port}`,
    () => spawn('redis-server', args, { stdio: 'ignore' }),
    port,
  );
}

/**
 * A PostgreSQL cluster in a temporary directory, run as the `postgres` user (PostgreSQL refuses root),
 * fsync off: durability is not what these tests are about.
 */
export async function startPrivatePostgres(): Promise<PrivateService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'taogate-pg-'));
  // Node sets the user itself: signals then reach PostgreSQL, not a runuser wrapper.
  const user: { uid?: number; gid?: number } = process.getuid?.() === 0 ? postgresUser() : {};
  if (user.uid !== undefined && user.gid !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  execFileSync('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], {
    stdio: 'ignore',
    ...user,
  });
  const args = ['-D', data, '-p', String(port), '-k', dir, '-h', '127.0.0.1', '-F'];
  const service = await startService(
    `postgres://postgres@127.0.0.1:${port}/postgres`,
    () => spawn('postgres', args, { stdio: 'ignore', ...user }),
    port,
  );
  return {
    ...service,
    get running() {
      return service.running;
    },
    async close() {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString());
  return { uid: id('-u'), gid: id('-g') };
}

async function startService(url: string, launch: () => ChildProcess, port: number): Promise<PrivateService> {
  let child: ChildProcess | undefined;
  const start = async () => {
    child = launch();
    await waitForPort(port, child);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    // SIGINT is PostgreSQL's fast shutdown (clients are cut at once); Redis treats it as SIGTERM.
    running.kill('SIGINT');
    await exited;
  };
  await start();
  return {
    url,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    close: stop,
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port} after 15 s`);
}
