import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/index.ts';
import { generateApiKey } from './api-keys.ts';
import type { Account, Ledger } from './ledger.ts';
import { openLedger } from './open-ledger.ts';
import { formatTao, parseTao } from './tao-amount.ts';

export interface AdminOptions {
  name?: string;
  json?: boolean;
  since?: string;
  'spend-cap'?: string;
  'rate-limit'?: string;
}

export const ACCOUNTS_HELP = `Usage: taogate accounts <command> [options]

Manages the payment ledger (TAOGATE_LEDGER=sqlite|postgres, with its TAOGATE_LEDGER_PATH or
TAOGATE_DATABASE_URL). An <account> is an account id (acct_…) or its coldkey address.

  accounts create <coldkey> [--name <name>]   open an account bound to a coldkey; transfers from that coldkey
                                               to the deposit address are credited to it (earlier ones too)
  accounts list [--json]                       every account: balance, reserved, credited, spent, and whether
                                               credited − spent = balance holds
  accounts keys <account>                      the account's API keys
  accounts keys <account> create [--name <name>] [--spend-cap <tao>] [--rate-limit <per minute>]
                                               a new API key: printed once, stored only as a hash
  accounts keys <account> revoke <key id>      revoke a key: its requests get 401 from then on
  accounts usage <account> [--since YYYY-MM-DD] [--json]
                                               requests, tokens and rao spent per key, subnet, model and day
`;

/** `taogate accounts …`: prints to `out`; returns the process exit code. */
export async function runAccountsCommand(
  args: readonly string[],
  options: AdminOptions,
  config: GatewayConfig,
  logger: Logger,
  out: (text: string) => void,
): Promise<number> {
  if (!config.ledger) {
    out('taogate accounts: the ledger is off; set TAOGATE_LEDGER=sqlite or postgres\n');
    return 2;
  }
  const ledger = await openLedger(config.ledger.store, logger);
  try {
    return await accountsCommand(ledger, args, options, out);
  } finally {
    await ledger.close();
  }
}

async function accountsCommand(
  ledger: Ledger,
  args: readonly string[],
  options: AdminOptions,
  out: (text: string) => void,
): Promise<number> {
  const [command, target, action, keyId] = args;
  const now = Date.now();
  const fail = (message: string) => {
    out(`taogate accounts: ${message}\n`);
    return 2;
  };
  const findAccount = async (): Promise<Account | undefined> =>
    target === undefined
      ? undefined
      : target.startsWith('acct_')
        ? ledger.account(target)
        : ledger.accountByColdkey(target);

  switch (command) {
    case 'create': {
      if (!target || !/^[1-9A-HJ-NP-Za-km-z]{46,48}$/.test(target))
        return fail('create needs a coldkey address');
      if (await ledger.accountByColdkey(target)) return fail(`an account for ${target} exists already`);
      const account = await ledger.createAccount({ coldkey: target, name: options.name ?? null, nowMs: now });
      out(options.json ? `${toJson(accountJson(account))}\n` : `${account.id}  ${describe(account)}\n`);
      return 0;
    }
    case 'list': {
      const [accounts, books] = await Promise.all([ledger.listAccounts(), ledger.audit()]);
      const byId = new Map(books.map((book) => [book.accountId, book]));
      const rows = accounts.map((account) => {
        const book = byId.get(account.id);
        return {
          ...accountJson(account),
          credited_rao: String(book?.creditedRao ?? 0n),
          spent_rao: String(book?.spentRao ?? 0n),
          pending_reservations: book?.pending ?? 0,
          balanced: book?.balanced ?? false,
        };
      });
      if (options.json) out(`${toJson(rows)}\n`);
      else {
        for (const [i, account] of accounts.entries()) {
          const row = rows[i]!;
          out(
            `${account.id}  ${describe(account)}  credited ${formatTao(BigInt(row.credited_rao))} spent ` +
              `${formatTao(BigInt(row.spent_rao))}${row.balanced ? '' : '  UNBALANCED'}\n`,
          );
        }
        if (accounts.length === 0) out('no accounts\n');
      }
      return rows.every((row) => row.balanced) ? 0 : 1;
    }
    case 'keys': {
      const account = await findAccount();
      if (!account) return fail(`no account ${target ?? '(none given)'}`);
      if (action === 'create') {
        const spendCap = options['spend-cap'] === undefined ? null : parseTao(options['spend-cap']);
        const rate = options['rate-limit'] === undefined ? null : Number(options['rate-limit']);
        if (spendCap === undefined) return fail('--spend-cap must be an amount of TAO, e.g. 1.5');
        if (rate !== null && !(Number.isInteger(rate) && rate > 0))
          return fail('--rate-limit must be a whole number');
        const key = generateApiKey();
        await ledger.addKey({
          id: key.id,
          accountId: account.id,
          hash: key.hash,
          name: options.name ?? null,
          spendCapRao: spendCap,
          ratePerMinute: rate,
          nowMs: now,
        });
        out(
          options.json
            ? `${toJson({ id: key.id, key: key.secret })}\n`
            : `${key.secret}\n(key ${key.id}: shown once, stored only as a hash; send it as Authorization: Bearer …)\n`,
        );
        return 0;
      }
      if (action === 'revoke') {
        const key = keyId ? await ledger.key(keyId) : undefined;
        if (!key || key.accountId !== account.id)
          return fail(`no key ${keyId ?? '(none given)'} on ${account.id}`);
        out(
          (await ledger.revokeKey(key.id, now)) ? `revoked ${key.id}\n` : `${key.id} was already revoked\n`,
        );
        return 0;
      }
      if (action !== undefined) return fail(`unknown keys action '${action}'`);
      const keys = await ledger.listKeys(account.id);
      const rows = keys.map((key) => ({
        id: key.id,
        name: key.name,
        created: new Date(key.createdAt).toISOString(),
        revoked: key.revokedAt !== null,
        spend_cap_rao: key.spendCapRao === null ? null : String(key.spendCapRao),
        spent_rao: String(key.spentRao),
        rate_limit_per_minute: key.ratePerMinute,
      }));
      if (options.json) out(`${toJson(rows)}\n`);
      else
        for (const key of keys) {
          const cap = key.spendCapRao === null ? '' : ` cap ${formatTao(key.spendCapRao)}`;
          out(
            `${key.id}  ${key.name ?? ''}  spent ${formatTao(key.spentRao)}${cap}${key.revokedAt === null ? '' : '  revoked'}\n`,
          );
        }
      return 0;
    }
    case 'usage': {
      const account = await findAccount();
      if (!account) return fail(`no account ${target ?? '(none given)'}`);
      if (options.since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.since))
        return fail('--since must be a date like 2026-01-31');
      const rows = await ledger.usage({ accountId: account.id, since: options.since });
      if (options.json) {
        out(`${toJson(rows.map((row) => ({ ...row, costRao: String(row.costRao) })))}\n`);
        return 0;
      }
      out(
        'day         key               subnet  model                     requests  in tokens  out tokens  TAO spent\n',
      );
      for (const row of rows) {
        out(
          `${row.day}  ${(row.keyId ?? 'signed').padEnd(16)}  ${String(row.netuid ?? '-').padStart(6)}  ` +
            `${row.model.padEnd(24)}  ${String(row.requests).padStart(8)}  ${String(row.inputTokens).padStart(9)}  ` +
            `${String(row.outputTokens).padStart(10)}  ${formatTao(row.costRao)}\n`,
        );
      }
      return 0;
    }
    default:
      out(ACCOUNTS_HELP);
      return command === undefined ? 0 : 1;
  }
}

function describe(account: Account): string {
  return (
    `${account.coldkey}${account.name ? ` (${account.name})` : ''}  balance ${formatTao(account.balanceRao)} TAO` +
    `  reserved ${formatTao(account.reservedRao)}`
  );
}

function accountJson(account: Account) {
  return {
    id: account.id,
    coldkey: account.coldkey,
    name: account.name,
    balance_rao: String(account.balanceRao),
    reserved_rao: String(account.reservedRao),
    available_rao: String(account.availableRao),
  };
}

function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
