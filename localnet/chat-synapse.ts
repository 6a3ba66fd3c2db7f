import type { SynapseProfile } from '../config/profiles.ts';

/** The miner's side of a chat synapse: read the conversation out of the synapse's fields. */
export function lastUserMessage(
  profile: SynapseProfile,
  synapse: Record<string, unknown>,
): string | undefined {
  const layout = profile.messages;
  if (layout.shape === 'split') {
    const roles = synapse[layout.rolesField];
    const contents = synapse[layout.contentsField];
    if (!isStringList(roles) || !isStringList(contents) || roles.length !== contents.length) return undefined;
    const index = roles.lastIndexOf('user');
    return index < 0 ? undefined : contents[index];
  }
  return lastUserContent(synapse[layout.field]);
}

/** The last user message's text in an OpenAI-style `[{role, content}]` list, as miners receive it. */
export function lastUserContent(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: unknown; content?: unknown } | null;
    if (message?.role === 'user' && typeof message.content === 'string') return message.content;
  }
  return undefined;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** What localnet miners answer: deterministic, so tests can check that content arrived intact. */
export function minerAnswer(netuid: number, uid: number, prompt: string): string {
  return `sn${netuid} miner ${uid} heard: ${prompt}`;
}
