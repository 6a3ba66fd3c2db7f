import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createConnection, createServer } from 'node:net';

const EXIT_WITH_PARENT = new URL('./bench-exit-with-parent.ts', import.meta.url).pathname;
const running = new Set<ChildProcess>();

export interface StartOptions {
  name: string;
  /** Script and its arguments, run with this Node. */
  args: string[];
  env?: Record<string, string>;
  /** Extra Node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
}

/**
 * Starts a Node process that dies with the benchmark: it is tracked for `stopAll`, and it exits by itself
 * when its IPC channel to us closes (bench-exit-with-parent.ts), so not even SIGKILL leaves it behind.
 */
export function startNode(options: StartOptions): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import', EXIT_WITH_PARENT, ...(options.nodeFlags ?? []), ...options.args],
    {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  running.add(child);
  child.once('exit', (code, signal) => {
    running.delete(child);
    if (code && code !== 0 && !stopping.has(child))
      process.stderr.write(`bench: ${options.name} exited with ${code ?? signal}\n${stderr}\n`);
  });
  return child;
}

const stopping = new WeakSet<ChildProcess>();

/** SIGTERM, then SIGKILL if it has not gone within `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  stopping.add(child);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stop(child)));
}

/** Synchronous last resort for `process.on('exit')`. */
export function killAllNow(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A port nothing listens on right now (loopback). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once something accepts connections on the port; fails if `child` dies first or time runs out. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`process exited (${child.exitCode}) before listening on ${port}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listened on ${port} within ${timeoutMs} ms`);
}

/** The first IPC message of a child, e.g. the address it reports once ready. */
export function firstMessage<T>(child: ChildProcess, timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const settle = (error: Error | undefined, message?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit);
      if (error) reject(error);
      else resolve(message as T);
    };
    const onMessage = (message: unknown) => settle(undefined, message as T);
    const onExit = (code: number | null) => settle(new Error(`process exited (${code}) before reporting`));
    const timer = setTimeout(() => settle(new Error(`no report within ${timeoutMs} ms`)), timeoutMs);
    child.on('message', onMessage).on('exit', onExit);
  });
}

const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is none. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Resident set size in MB, from /proc. */
export function rssMb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Watches one process while load runs: its CPU share and its peak and last RSS. */
export function watchProcess(pid: number, everyMs = 250) {
  const startedAt = performance.now();
  const startedCpu = cpuSeconds(pid);
  let peakRss = rssMb(pid) ?? Number.NaN;
  let lastRss = peakRss;
  const timer = setInterval(() => {
    const rss = rssMb(pid);
    if (rss === undefined) return;
    lastRss = rss;
    if (!(rss <= peakRss)) peakRss = rss;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const cpu = cpuSeconds(pid);
      const seconds = (performance.now() - startedAt) / 1000;
      const cpuPercent =
        cpu === undefined || startedCpu === undefined ? Number.NaN : ((cpu - startedCpu) / seconds) * 100;
      return { cpuPercent, peakRssMb: peakRss, lastRssMb: rssMb(pid) ?? lastRss };
    },
  };
}
