import { ReplayStream } from '../replay-stream.ts';

/**
 * A step's answer as it arrives: readable whole once complete, or as a stream that replays what came so far
 * and follows the rest, by any number of readers (the steps that read it, and the client for the last one).
 */
export class StepOutput {
  #text = '';
  readonly #chunks = new ReplayStream();
  readonly #whole: Promise<string>;
  #settleWhole!: { resolve: (text: string) => void; reject: (error: unknown) => void };

  constructor() {
    this.#whole = new Promise<string>((resolve, reject) => {
      this.#settleWhole = { resolve, reject };
    });
    // Nobody may ever await a step that failed before its readers started: that is not an unhandled error.
    this.#whole.catch(() => {});
  }

  /** The text so far. */
  get text(): string {
    return this.#text;
  }

  /** Whether any text was handed on: past that point a step can no longer switch to its fallback model. */
  get started(): boolean {
    return this.#chunks.chunks.length > 0;
  }

  append(chunk: string): void {
    if (this.#chunks.finished || chunk === '') return;
    this.#text += chunk;
    this.#chunks.push(chunk);
  }

  end(): void {
    if (this.#chunks.finished) return;
    this.#settleWhole.resolve(this.#text);
    this.#chunks.end();
  }

  fail(error: unknown): void {
    if (this.#chunks.finished) return;
    this.#settleWhole.reject(error);
    this.#chunks.fail(error);
  }

  /** The complete text; rejects when the step failed. */
  whole(): Promise<string> {
    return this.#whole;
  }

  /** Every chunk from the first, then each new one as it arrives; throws the step's failure. */
  stream(): AsyncGenerator<string> {
    return this.#chunks.read();
  }
}
