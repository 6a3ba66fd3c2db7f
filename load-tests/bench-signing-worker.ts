// A signing thread of bench-signing-pool.ts: signs each batch of messages with the hotkey it was started with.
import { parentPort, workerData } from 'node:worker_threads';
import { hotkeyFromSecret } from '../bittensor/index.ts';

const hotkey = await hotkeyFromSecret((workerData as { secret: string }).secret);
parentPort!.on('message', (messages: string[]) => {
  parentPort!.postMessage(messages.map((message) => hotkey.sign(message)));
});
