import { readFileSync } from 'node:fs';

export interface RssSample {
  atSeconds: number;
  rssMb: number;
}

/** A process's resident set size from /proc, in MiB; undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

export interface MemoryTrend {
  /** Least-squares slope over the samples after warm-up, MiB per minute. */
  slopeMbPerMin: number;
  /** Median of the last fifth minus median of the second fifth, MiB. */
  growthMb: number;
}

/**
 * How RSS moved once warm: the first fifth of the run (JIT, pools, caches filling) is left out; the slope
 * says whether it keeps climbing, the growth how much it climbed in the end.
 */
export function memoryTrend(samples: readonly RssSample[]): MemoryTrend {
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const warm = samples.slice(fifth);
  const n = warm.length;
  const meanX = warm.reduce((sum, s) => sum + s.atSeconds, 0) / n;
  const meanY = warm.reduce((sum, s) => sum + s.rssMb, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of warm) {
    covariance += (s.atSeconds - meanX) * (s.rssMb - meanY);
    variance += (s.atSeconds - meanX) ** 2;
  }
  const slopePerSecond = variance > 0 ? covariance / variance : 0;
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const second = samples.slice(fifth, 2 * fifth).map((s) => s.rssMb);
  const last = samples.slice(-fifth).map((s) => s.rssMb);
  return { slopeMbPerMin: slopePerSecond * 60, growthMb: median(last) - median(second) };
}
