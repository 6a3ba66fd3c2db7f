import { hotkeyFromSecret } from '../bittensor/index.ts';
import type { GatewayConfig } from '../config/index.ts';

/** localnet's deposit address, a dev key's: `taogate deposit` pays into it unless told otherwise. */
export const LOCALNET_DEPOSIT_SECRET = '//taogate/deposit';

/** Where apps pay: the configured address, or on localnet the dev deposit key's; undefined: no deposits. */
export async function depositAddressOf(config: GatewayConfig): Promise<string | undefined> {
  const configured = config.ledger?.deposits.address;
  if (configured || config.network !== 'localnet') return configured;
  return (await hotkeyFromSecret(LOCALNET_DEPOSIT_SECRET)).ss58;
}
