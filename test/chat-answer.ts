/** A chat completion as a client received it, JSON or SSE, read without the OpenAI SDK's leniency. */
export interface ChatAnswer {
  status: number;
  /** The assistant's text (all deltas of a stream). */
  text: string;
  /** A stream ended with `[DONE]`. */
  done: boolean;
  /** The OpenAI-shaped error: the body of a failed request, or a stream's error event. */
  error: { message: string; type: string; code: string | null } | undefined;
  /** Stream events that were not well-formed `data:` lines. */
  malformed: string[];
  /** The answer is whole: 200 and, for a stream, `[DONE]` with no error event. */
  complete: boolean;
}

type Data = {
  error?: ChatAnswer['error'];
  choices?: { delta?: { content?: string }; message?: { content?: string } }[];
};

/**
 * Reads a response to `/v1/chat/completions` to its end. `onEvent` is called after each stream event,
 * e.g. to know a stream is under way. Rejects only when the connection fails.
 */
export async function readChatAnswer(response: Response, onEvent?: () => void): Promise<ChatAnswer> {
  const answer: ChatAnswer = {
    status: response.status,
    text: '',
    done: false,
    error: undefined,
    malformed: [],
    complete: false,
  };
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    const data = (await response.json()) as Data;
    answer.error = data.error;
    answer.text = data.choices?.[0]?.message?.content ?? '';
    answer.complete = response.status === 200 && !data.error;
    return answer;
  }
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const bytes of response.body!) {
    buffer += decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      readEvent(answer, buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      onEvent?.();
    }
  }
  if (buffer.trim()) answer.malformed.push(buffer);
  answer.complete = answer.status === 200 && answer.done && !answer.error && answer.malformed.length === 0;
  return answer;
}

function readEvent(answer: ChatAnswer, event: string): void {
  if (event === 'data: [DONE]') {
    answer.done = true;
    return;
  }
  const data = event.startsWith('data: ') ? parseData(event.slice(6)) : undefined;
  if (!data) {
    answer.malformed.push(event);
    return;
  }
  if (data.error) answer.error = data.error;
  answer.text += data.choices?.[0]?.delta?.content ?? '';
}

function parseData(json: string): Data | undefined {
  try {
    return JSON.parse(json) as Data;
  } catch {
    return undefined;
  }
}
