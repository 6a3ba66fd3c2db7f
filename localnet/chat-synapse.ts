import type { SynapseProfile } from '../config/profiles.ts';

/** The miner's side of a chat synapse: read the conversation out of the synapse's fields. */
export function lastUserMessage(
  profile: SynapseProfile,
  synapse: Record<string, unknown>,
): string | undefined {
  const layout = profile.messages;
  if (!layout) return undefined;
  if (layout.shape === 'split') {
    const roles = synapse[layout.rolesField];
    const contents = synapse[layout.contentsField];
    if (!isStringList(roles) || !isStringList(contents) || roles.length !== contents.length) return undefined;
    const index = roles.lastIndexOf('user');
    return contents[index < 0 ? contents.length - 1 : index];
  }
  return lastUserContent(synapse[layout.field]);
}

/**
 * The last user message's text in an OpenAI-style `[{role, content}]` list, as miners receive it. Like a
 * model, a miner answers a conversation without a user turn too (a system prompt alone): it hears the last
 * message then.
 */
export function lastUserContent(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  let last: string | undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: unknown; content?: unknown } | null;
    if (typeof message?.content !== 'string') continue;
    if (message.role === 'user') return message.content;
    last ??= message.content;
  }
  return last;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** What localnet miners answer: deterministic, so tests can check that content arrived intact. */
export function minerAnswer(netuid: number, uid: number, prompt: string): string {
  return `sn${netuid} miner ${uid} heard: ${prompt}`;
}
