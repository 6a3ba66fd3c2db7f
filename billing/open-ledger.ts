import type { Logger } from 'pino';
import type { Ledger } from './ledger.ts';
import { openPostgresDriver } from './postgres-driver.ts';
import { openSqlLedger } from './sql-ledger.ts';
import { openSqliteDriver } from './sqlite-driver.ts';

export type LedgerLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Opens the configured store and brings its schema up to date. */
export function openLedger(location: LedgerLocation, logger: Logger): Promise<Ledger> {
  const driver =
    location.kind === 'sqlite' ? openSqliteDriver(location.path) : openPostgresDriver(location.url, logger);
  return openSqlLedger(driver).catch(async (error: unknown) => {
    await driver.close().catch(() => undefined);
    throw error;
  });
}
