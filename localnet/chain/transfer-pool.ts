import type { GenericExtrinsic } from '@polkadot/types';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsHex, decodeAddress } from '@polkadot/util-crypto';
import type { ChainRuntime } from './chain-runtime.ts';
import { JsonRpcError } from './json-rpc-server.ts';

/** Every account localnet has not seen yet holds this much (rao), as dev chains endow their dev accounts. */
export const DEV_ENDOWMENT_RAO = 1_000_000n * 1_000_000_000n;
/** pallet_balances' existential deposit on Subtensor (500 rao): transfer_keep_alive must leave at least this. */
const EXISTENTIAL_DEPOSIT_RAO = 500n;
const TRANSFER_CALLS = new Set(['transferKeepAlive', 'transferAllowDeath']);

interface AccountState {
  free: bigint;
  nonce: number;
}

interface QueuedTransfer {
  hex: string;
  hash: string;
  from: Uint8Array;
  to: Uint8Array;
  amount: bigint;
}

/** What a sealed block adds: its extrinsics, and the storage laid over the subnets' storage from it on. */
export interface SealedTransfers {
  extrinsics: string[];
  extrinsicHashes: string[];
  /** Undefined when the storage is the same as the previous block's. */
  storage: Map<string, string> | undefined;
}

/**
 * Balances transfers on localnet: signed `balances.transfer_keep_alive` / `transfer_allow_death` extrinsics
 * (as polkadot-js or btcli make them) are checked against the sender's balance and nonce, queued, and applied
 * when the next block is sealed, which then carries their events in `System.Events` and the new balances in
 * `System.Account`, SCALE-encoded from the real metadata. Signatures are not verified: localnet trusts its
 * users, as a dev chain's sudo does.
 */
export function createTransferPool(runtime: ChainRuntime) {
  const { registry } = runtime;
  const accounts = new Map<string, AccountState>();
  const accountStorage = new Map<string, string>();
  let queue: QueuedTransfer[] = [];
  let previousHadEvents = false;

  const accountOf = (publicKey: Uint8Array): AccountState => {
    const id = u8aToHex(publicKey);
    let account = accounts.get(id);
    if (!account) {
      account = { free: DEV_ENDOWMENT_RAO, nonce: 0 };
      accounts.set(id, account);
    }
    return account;
  };
  const pendingFrom = (publicKey: Uint8Array) => {
    const id = u8aToHex(publicKey);
    return queue.filter((t) => u8aToHex(t.from) === id);
  };
  const storeAccount = (publicKey: Uint8Array) => {
    const account = accountOf(publicKey);
    accountStorage.set(
      runtime.storageKey('System', 'Account', publicKey),
      runtime.encodeValue('System', 'Account', {
        nonce: account.nonce,
        consumers: 0,
        providers: 1,
        sufficients: 0,
        data: { free: account.free, reserved: 0, frozen: 0, flags: 0 },
      }),
    );
  };
  const event = (pallet: string, name: string, values: unknown[]) => {
    const palletMeta = registry.metadata.pallets.find((p) => p.name.eq(pallet));
    const variants =
      palletMeta && registry.lookup.getSiType(palletMeta.events.unwrap().type).def.asVariant.variants;
    const variant = variants?.find((v) => v.name.eq(name));
    if (!palletMeta || !variant) throw new Error(`metadata has no event ${pallet}.${name}`);
    const fields = variant.fields.map((field, i) =>
      registry.createTypeUnsafe(registry.createLookupType(field.type), [values[i]]).toU8a(),
    );
    return registry.createType(
      'Event',
      u8aConcat([palletMeta.index.toNumber(), variant.index.toNumber()], ...fields),
    );
  };

  return {
    /** The nonce the account's next extrinsic must carry (`system_accountNextIndex`). */
    nextNonce(address: string): number {
      const publicKey = decodeAddress(address);
      return accountOf(publicKey).nonce + pendingFrom(publicKey).length;
    },
    pending: () => queue.map((t) => t.hex),
    /** Checks and queues a signed transfer; its hash, or JSON-RPC error 1010 as a node's pool answers. */
    submit(hex: string): string {
      let extrinsic: GenericExtrinsic;
      try {
        extrinsic = registry.createType('Extrinsic', hexToU8a(hex));
      } catch (error) {
        throw new JsonRpcError(
          1002,
          `Verification Error: could not decode the extrinsic: ${(error as Error).message}`,
        );
      }
      const { section, method } = extrinsic.method;
      if (!extrinsic.isSigned) throw new JsonRpcError(1010, 'Invalid Transaction: unsigned');
      if (section !== 'balances' || !TRANSFER_CALLS.has(method)) {
        throw new JsonRpcError(
          1010,
          `Invalid Transaction: localnet only applies balances transfers, not ${section}.${method}`,
        );
      }
      const from = decodeAddress(extrinsic.signer.toString());
      const to = decodeAddress(extrinsic.method.args[0]!.toString());
      const amount = BigInt(extrinsic.method.args[1]!.toString());
      const sender = accountOf(from);
      const queued = pendingFrom(from);
      if (extrinsic.nonce.toNumber() !== sender.nonce + queued.length) {
        throw new JsonRpcError(1010, 'Invalid Transaction: Transaction has a bad nonce');
      }
      const committed = queued.reduce((sum, t) => sum + t.amount, 0n);
      const floor = method === 'transferKeepAlive' ? EXISTENTIAL_DEPOSIT_RAO : 0n;
      if (amount <= 0n || sender.free - committed - amount < floor) {
        throw new JsonRpcError(
          1010,
          'Invalid Transaction: Inability to pay some fees (e.g. account balance too low)',
        );
      }
      const hash = blake2AsHex(hexToU8a(hex));
      queue.push({ hex, hash, from, to, amount });
      return hash;
    },
    /** Applies the queued transfers for a new block. */
    seal(): SealedTransfers {
      const sealed = queue;
      queue = [];
      if (sealed.length === 0 && !previousHadEvents)
        return { extrinsics: [], extrinsicHashes: [], storage: undefined };
      const records = sealed.flatMap((transfer, index) => {
        const sender = accountOf(transfer.from);
        sender.free -= transfer.amount;
        sender.nonce++;
        accountOf(transfer.to).free += transfer.amount;
        storeAccount(transfer.from);
        storeAccount(transfer.to);
        const phase = { ApplyExtrinsic: index };
        return [
          {
            phase,
            event: event('Balances', 'Transfer', [transfer.from, transfer.to, transfer.amount]),
            topics: [],
          },
          {
            phase,
            event: event('System', 'ExtrinsicSuccess', [
              { weight: { refTime: 0, proofSize: 0 }, class: 'Normal', paysFee: 'Yes' },
            ]),
            topics: [],
          },
        ];
      });
      previousHadEvents = records.length > 0;
      const storage = new Map(accountStorage);
      if (records.length > 0)
        storage.set(runtime.storageKey('System', 'Events'), runtime.encodeValue('System', 'Events', records));
      return { extrinsics: sealed.map((t) => t.hex), extrinsicHashes: sealed.map((t) => t.hash), storage };
    },
  };
}

export type TransferPool = ReturnType<typeof createTransferPool>;
