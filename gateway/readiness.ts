/**
 * Something the gateway needs before it should take traffic: a store answering (the ledger's database, the
 * shared Redis), a model loaded. Stores register one into `GatewayDeps.readinessChecks` when they are built.
 */
export interface ReadinessCheck {
  /** Reported in `/readyz`'s body, e.g. `ledger`, `redis`. */
  name: string;
  /** Resolves true when usable; false, a rejection or no answer within the probe's timeout is not ready. */
  check(): Promise<boolean>;
  /**
   * Whether the gateway is unready without it (default true). A store the gateway degrades gracefully
   * without, such as the shared cache's Redis, is reported but does not take every replica out of the load
   * balancer at once when it fails.
   */
  critical?: boolean;
}

export interface Readiness {
  /** Every critical check passed. */
  ready: boolean;
  checks: Record<string, boolean>;
  /** Non-critical checks that failed: ready, but working without them. */
  degraded: string[];
}

/** A probe's answer must come well inside the kubelet's probe timeout (1 s by default). */
export const READINESS_TIMEOUT_MS = 800;

/** Runs every check at once, each bounded by the timeout, so a hung store makes `/readyz` 503, never hang. */
export async function checkReadiness(
  checks: readonly ReadinessCheck[],
  timeoutMs = READINESS_TIMEOUT_MS,
): Promise<Readiness> {
  const results = await Promise.all(checks.map((check) => withTimeout(check, timeoutMs)));
  const byName = Object.fromEntries(checks.map((check, i) => [check.name, results[i] === true]));
  const failed = checks.filter((_, i) => results[i] !== true);
  return {
    ready: failed.every((check) => check.critical === false),
    checks: byName,
    degraded: failed.map((check) => check.name),
  };
}

async function withTimeout(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check.check().catch(() => false), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
