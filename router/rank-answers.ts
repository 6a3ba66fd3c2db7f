/** One miner's complete answer, as fan-out collected it. */
export interface AnswerCandidate {
  text: string;
  /** From the call until the whole answer was read. */
  latencyMs: number;
}

/**
 * Orders answers best first, returning their indices:
 *
 * 1. answers with text beat empty (or whitespace-only) ones: an empty answer is never what was asked for;
 * 2. then consensus: the mean token-set overlap (Jaccard) with every other non-empty answer. Miners that
 *    did the task well tend to say similar things, while an outlier (a wrong model, a canned reply, a
 *    truncated answer) shares little with the rest. With two answers the overlap is mutual, so it falls
 *    through to:
 * 3. latency, fastest first.
 *
 * Deliberately simple and deterministic: a learned reranker can replace it behind the same signature.
 */
export function rankAnswers(answers: readonly AnswerCandidate[]): number[] {
  const tokens = answers.map((answer) => tokenSet(answer.text));
  const consensus = tokens.map((own, i) => {
    if (own.size === 0) return 0;
    let total = 0;
    let others = 0;
    tokens.forEach((other, j) => {
      if (j === i || other.size === 0) return;
      total += jaccard(own, other);
      others++;
    });
    return others > 0 ? total / others : 0;
  });
  return answers
    .map((_, i) => i)
    .sort(
      (a, b) =>
        Number(tokens[b]!.size > 0) - Number(tokens[a]!.size > 0) ||
        consensus[b]! - consensus[a]! ||
        answers[a]!.latencyMs - answers[b]!.latencyMs,
    );
}

/** Lower-cased words and numbers, in any script; punctuation and spacing do not count as disagreement. */
function tokenSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  let shared = 0;
  for (const token of a) if (b.has(token)) shared++;
  return shared / (a.size + b.size - shared);
}
