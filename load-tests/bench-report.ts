import type { LoadResult } from './bench-load.ts';

/** One target under one load: what the generator saw and what the target's process used. */
export interface Row {
  target: string;
  delayMs: number;
  stream: boolean;
  connections: number;
  load: LoadResult;
  cpuPercent: number;
  peakRssMb: number;
}

const fixed = (value: number | undefined, digits: number) =>
  value == null || Number.isNaN(value) ? '—' : value.toFixed(digits);
const signed = (value: number | undefined) =>
  value == null || Number.isNaN(value) ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;

/** A Markdown table of one scenario (delay × stream × connections), added latency against `direct`. */
export function scenarioTable(rows: readonly Row[]): string {
  const floor = rows.find((row) => row.target === 'direct');
  const header = [
    'target',
    'req/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    '+p50',
    '+p99',
    'ttfb p50',
    '+ttfb',
    'errors',
    'CPU %',
    'CPU µs/req',
    'RSS MB',
  ];
  const lines = rows.map((row) => {
    const { load } = row;
    // Percentiles of a run without one success arrive as null (NaN does not survive IPC's JSON).
    const added = (mine: number | null | undefined, theirs: number | null | undefined) =>
      floor && row !== floor && mine != null && theirs != null ? mine - theirs : undefined;
    return [
      row.target,
      fixed(load.rps, 0),
      fixed(load.latencyMs.p50, 2),
      fixed(load.latencyMs.p90, 2),
      fixed(load.latencyMs.p99, 2),
      signed(added(load.latencyMs.p50, floor?.load.latencyMs.p50)),
      signed(added(load.latencyMs.p99, floor?.load.latencyMs.p99)),
      fixed(load.ttfbMs?.p50, 2),
      signed(added(load.ttfbMs?.p50, floor?.load.ttfbMs?.p50)),
      String(load.errors),
      fixed(row.cpuPercent, 0),
      // CPU per answered request: steadier than req/s when other processes take the cores in turns.
      fixed(load.requests > 0 ? (row.cpuPercent * 1e4) / load.rps : undefined, 0),
      fixed(row.peakRssMb, 0),
    ];
  });
  return markdownTable(header, lines);
}

export function markdownTable(header: readonly string[], lines: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}
