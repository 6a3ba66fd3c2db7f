import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

export interface TransferRequest {
  /** The Subtensor node (`ws://…`). */
  url: string;
  /** The paying coldkey as a secret URI: a mnemonic, a 0x seed, or a dev path such as `//Alice`. */
  fromSecret: string;
  /** ss58 address receiving the TAO. */
  to: string;
  amountRao: bigint;
  timeoutMs?: number;
}

export interface TransferReceipt {
  from: string;
  txHash: string;
  blockHash: string;
}

/**
 * Signs and submits `balances.transfer_keep_alive` from a coldkey and waits until a block includes it: how
 * an app pays TAO into the gateway's deposit address (on localnet, `taogate deposit`).
 */
export async function sendTransfer(request: TransferRequest): Promise<TransferReceipt> {
  // Loaded when used, not with the chain folder: the gateway imports this folder and rarely needs the API.
  const { ApiPromise, WsProvider } = await import('@polkadot/api');
  await cryptoWaitReady();
  const pair = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(request.fromSecret);
  const provider = new WsProvider(request.url, false);
  await provider.connect();
  const api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const transferKeepAlive = api.tx.balances?.transferKeepAlive;
    if (!transferKeepAlive) throw new Error('the chain has no balances.transfer_keep_alive');
    return await new Promise<TransferReceipt>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error('the transfer was not included in a block in time')),
        request.timeoutMs ?? 60_000,
      );
      transferKeepAlive(request.to, request.amountRao)
        .signAndSend(pair, ({ status, txHash, dispatchError }) => {
          if (dispatchError) reject(new Error(`the transfer failed: ${dispatchError.toString()}`));
          else if (status.isInBlock) {
            resolve({ from: pair.address, txHash: txHash.toHex(), blockHash: status.asInBlock.toHex() });
          } else if (status.isDropped || status.isInvalid || status.isUsurped) {
            reject(new Error(`the transfer was ${status.type.toLowerCase()}`));
          }
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await api.disconnect();
  }
}
