// Summarises V8 CPU profiles (`node --cpu-prof`): self time by function and by file or package, so the
// hot path's cost can be read at a glance. `node load-tests/bench-cpu-profile.ts <dir or .cpuprofile> [skip-first-ms] [top]`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { markdownTable } from './bench-report.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = new URL('../', import.meta.url).href;

/** Where a function lives: a package under node_modules, a file of ours, or V8/Node internals. */
function placeOf(url: string): string {
  if (!url) return '(native/V8)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

const isOurs = (url: string) => url.startsWith(ROOT) && !url.includes('/node_modules/');

/**
 * Self time per function and per place, and time by the nearest function of ours on the stack (its own
 * time plus the library and Node calls it made), from the samples `skipMs` or more after the start.
 */
function selfTimes(profile: CpuProfile, skipMs: number) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const nameOf = ({ functionName, url, lineNumber }: ProfileNode['callFrame']) =>
    `${functionName || '(anonymous)'} ${url ? `${placeOf(url)}:${lineNumber + 1}` : placeOf(url)}`;
  const ownerOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (isOurs(frame.url)) return nameOf(frame);
    }
    return '(no taogate frame: Node, HTTP server, libraries, GC)';
  };
  const micros = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= skipMs * 1000) micros.set(id, (micros.get(id) ?? 0) + delta);
  });
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, us] of micros) {
    const frame = byId.get(id)!.callFrame;
    // Waiting is not cost; `(program)` is V8 outside any JS frame, unattributable.
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
    const name = nameOf(frame);
    const place = placeOf(frame.url);
    const owner = ownerOf(id);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  }
  return { byFunction, byPlace, byOwner };
}

function profilesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((file) => file.endsWith('.cpuprofile'))
    .map((file) => `${path}/${file}`);
}

/**
 * Top self-time functions and places across the profiles in `path`, as shares of busy (non-idle) time.
 * `skipMs` (for all, or by process id: the file name carries the pid) leaves out start-up.
 */
export function summarizeCpuProfiles(
  path: string,
  skipMs: ReadonlyMap<number, number> | number = 0,
  top = 25,
): string {
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let busy = 0;
  for (const file of profilesIn(path)) {
    const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1]);
    const skip = typeof skipMs === 'number' ? skipMs : (skipMs.get(pid) ?? 0);
    const times = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, skip);
    for (const [name, us] of times.byFunction) {
      byFunction.set(name, (byFunction.get(name) ?? 0) + us);
      busy += us;
    }
    for (const [place, us] of times.byPlace) byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    for (const [owner, us] of times.byOwner) byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  }
  const share = (us: number) => `${((us / busy) * 100).toFixed(1)}%`;
  const ranked = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  const functions = markdownTable(
    ['function (self time, share of busy CPU)', 'ms', 'share'],
    ranked(byFunction).map(([name, us]) => [name, (us / 1000).toFixed(0), share(us)]),
  );
  const places = markdownTable(
    ['file or package', 'ms', 'share'],
    ranked(byPlace)
      .slice(0, 15)
      .map(([place, us]) => [place, (us / 1000).toFixed(0), share(us)]),
  );
  const owners = markdownTable(
    ['nearest taogate function on the stack (its time + the calls it made)', 'ms', 'share'],
    ranked(byOwner).map(([owner, us]) => [owner, (us / 1000).toFixed(0), share(us)]),
  );
  return `${functions}\n\n${places}\n\n${owners}`;
}

if (import.meta.main) {
  const [path, skip, top] = process.argv.slice(2);
  if (!path) {
    process.stderr.write(
      'usage: node load-tests/bench-cpu-profile.ts <dir or .cpuprofile> [skip-first-ms] [top]\n',
    );
    process.exit(1);
  }
  process.stdout.write(`${summarizeCpuProfiles(path, Number(skip ?? 0), top ? Number(top) : undefined)}\n`);
}
