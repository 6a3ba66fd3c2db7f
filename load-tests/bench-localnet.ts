// localnet for the dendrite scenario, in a process of its own (so miners verifying signatures do not share
// the gateway's event loop): the profiles in BENCH_PROFILES, every miner healthy and answering after
// UPSTREAM_DELAY_MS with no jitter and no pause between chunks. Reports its chain URL over IPC.
import { hotkeyFromSecret } from '../bittensor/index.ts';
import { LOCALNET_HOTKEY, loadProfiles } from '../config/index.ts';
import { startLocalnet } from '../localnet/index.ts';

const delayMs = Number(process.env.UPSTREAM_DELAY_MS ?? 0);
const validator = await hotkeyFromSecret(LOCALNET_HOTKEY);
const localnet = await startLocalnet({
  profiles: loadProfiles(process.env.BENCH_PROFILES),
  validatorHotkey: validator.ss58,
  minersPerSubnet: Number(process.env.BENCH_MINERS ?? 4),
  behaviour: () => ({ latencyMs: delayMs, jitterMs: 0, chunkDelayMs: 0 }),
});
process.send?.({ chainUrl: localnet.chain.url });
process.once('SIGTERM', () => void localnet.close().finally(() => process.exit(0)));
