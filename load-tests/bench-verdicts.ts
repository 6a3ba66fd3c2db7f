import type { Row } from './bench-report.ts';

export interface Verdict {
  /** Undefined when the comparison could not be made (the peer answered nothing). */
  pass: boolean | undefined;
  target: string;
  measured: string;
}

// The targets (#11), for the gateway under test, against rows of the same run.
const MIN_SHARE_OF_BARE_PROXY = 0.8;
const MIN_TIMES_PORTKEY = 5;
const MAX_ADDED_P50_MS = 1.5;
const MAX_ADDED_P99_MS = 5;
const MAX_ADDED_TTFB_P50_MS = 1.5;
const MAX_RSS_MB = 200;

const scenario = (row: Row) => `${row.delayMs} ms, ${row.stream ? 'stream' : 'json'}, c${row.connections}`;

/** Every target the rows allow judging, for `subject` (the gateway under test). */
export function verdicts(rows: readonly Row[], subject = 'taogate'): Verdict[] {
  const out: Verdict[] = [];
  const peer = (row: Row, target: string) =>
    rows.find(
      (r) =>
        r.target === target &&
        r.delayMs === row.delayMs &&
        r.stream === row.stream &&
        r.connections === row.connections,
    );
  for (const row of rows.filter((r) => r.target === subject)) {
    const where = scenario(row);
    if (row.delayMs === 0) {
      const bare = peer(row, 'bare-proxy');
      if (bare) {
        const share = row.load.rps / bare.load.rps;
        out.push({
          pass: share >= MIN_SHARE_OF_BARE_PROXY,
          target: `${where}: req/s ≥ ${MIN_SHARE_OF_BARE_PROXY * 100}% of the bare proxy`,
          measured: `${row.load.rps.toFixed(0)} vs ${bare.load.rps.toFixed(0)} (${(share * 100).toFixed(0)}%)`,
        });
      }
      const portkey = peer(row, 'portkey');
      if (portkey?.load.requests === 0) {
        out.push({
          pass: undefined,
          target: `${where}: req/s ≥ ${MIN_TIMES_PORTKEY}× Portkey`,
          measured: `Portkey answered none of its requests (${portkey.load.errors} errors)`,
        });
      } else if (portkey) {
        const times = row.load.rps / portkey.load.rps;
        out.push({
          pass: times >= MIN_TIMES_PORTKEY,
          target: `${where}: req/s ≥ ${MIN_TIMES_PORTKEY}× Portkey`,
          measured: `${row.load.rps.toFixed(0)} vs ${portkey.load.rps.toFixed(0)} (${times.toFixed(1)}×)`,
        });
      }
    } else {
      const direct = peer(row, 'direct');
      if (direct) {
        const p50 = row.load.latencyMs.p50 - direct.load.latencyMs.p50;
        const p99 = row.load.latencyMs.p99 - direct.load.latencyMs.p99;
        out.push({
          pass: p50 <= MAX_ADDED_P50_MS,
          target: `${where}: added p50 ≤ ${MAX_ADDED_P50_MS} ms`,
          measured: `${p50.toFixed(2)} ms`,
        });
        out.push({
          pass: p99 <= MAX_ADDED_P99_MS,
          target: `${where}: added p99 ≤ ${MAX_ADDED_P99_MS} ms`,
          measured: `${p99.toFixed(2)} ms`,
        });
        if (row.stream && row.load.ttfbMs && direct.load.ttfbMs) {
          const ttfb = row.load.ttfbMs.p50 - direct.load.ttfbMs.p50;
          out.push({
            pass: ttfb <= MAX_ADDED_TTFB_P50_MS,
            target: `${where}: added time to first byte p50 ≤ ${MAX_ADDED_TTFB_P50_MS} ms`,
            measured: `${ttfb.toFixed(2)} ms`,
          });
        }
      }
    }
  }
  const subjectRows = rows.filter((r) => r.target === subject);
  if (subjectRows.length > 0) {
    const peak = Math.max(...subjectRows.map((r) => r.peakRssMb));
    out.push({
      pass: peak <= MAX_RSS_MB,
      target: `RSS ≤ ${MAX_RSS_MB} MB under load`,
      measured: `${peak.toFixed(0)} MB peak`,
    });
  }
  return out;
}

export function verdictLines(list: readonly Verdict[]): string {
  return list
    .map((v) => `${v.pass === undefined ? 'N/A ' : v.pass ? 'PASS' : 'FAIL'}  ${v.target}: ${v.measured}`)
    .join('\n');
}
