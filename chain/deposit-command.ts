import { parseTao } from '../billing/index.ts';
import { sendTransfer } from './deposit-transfer.ts';

export const DEPOSIT_HELP = `Usage: taogate deposit --from <coldkey secret> --amount <TAO> [--to <ss58>] [--chain <ws url>]

On localnet: pays TAO from a coldkey into the gateway's deposit address with a signed
balances.transfer_keep_alive, and waits until a block includes it. The gateway credits the account bound to
that coldkey once the block has TAOGATE_DEPOSIT_CONFIRMATIONS confirmations.

  --from     the paying coldkey: a dev path such as //Alice (localnet endows every account), a mnemonic or 0x seed
  --amount   TAO, up to 9 decimals (1 TAO = 10^9 rao)
  --to       the deposit address (default: TAOGATE_DEPOSIT_ADDRESS, or localnet's own)
  --chain    the chain node (default: the localnet started by \`taogate start\` or \`taogate localnet\`)

On finney or testnet pay with your wallet (btcli wallet transfer) instead: secrets on a command line end up
in shell histories.
`;

export interface DepositCommand {
  chainUrl: string | undefined;
  from: string | undefined;
  amount: string | undefined;
  to: string | undefined;
}

/** `taogate deposit`: prints to `out`; returns the process exit code. */
export async function runDepositCommand(
  command: DepositCommand,
  out: (text: string) => void,
): Promise<number> {
  const amountRao = command.amount === undefined ? undefined : parseTao(command.amount);
  const problem = !command.from
    ? '--from is required'
    : amountRao === undefined || amountRao <= 0n
      ? '--amount must be an amount of TAO above 0, e.g. 2.5'
      : !command.to
        ? 'no deposit address: pass --to, or set TAOGATE_DEPOSIT_ADDRESS'
        : !command.chainUrl
          ? 'no localnet is running here: start one (taogate start), or pass --chain ws://…'
          : undefined;
  if (problem) {
    out(`taogate deposit: ${problem}\n\n${DEPOSIT_HELP}`);
    return 2;
  }
  const receipt = await sendTransfer({
    url: command.chainUrl!,
    fromSecret: command.from!,
    to: command.to!,
    amountRao: amountRao!,
  });
  out(
    `sent ${command.amount} TAO from ${receipt.from} to ${command.to}\n` +
      `  extrinsic ${receipt.txHash} in block ${receipt.blockHash}\n` +
      `  credited to the account bound to ${receipt.from} once the block is confirmed\n`,
  );
  return 0;
}
