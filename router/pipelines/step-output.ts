/**
 * A step's answer as it arrives: readable whole once complete, or as a stream that replays what came so far
 * and follows the rest, by any number of readers (the steps that read it, and the client for the last one).
 */
export class StepOutput {
  #text = '';
  readonly #chunks: string[] = [];
  #ended = false;
  #failure: { error: unknown } | undefined;
  #wake: (() => void)[] = [];
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
    return this.#chunks.length > 0;
  }

  append(chunk: string): void {
    if (this.#ended || chunk === '') return;
    this.#text += chunk;
    this.#chunks.push(chunk);
    this.#notify();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleWhole.resolve(this.#text);
    this.#notify();
  }

  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failure = { error };
    this.#settleWhole.reject(error);
    this.#notify();
  }

  /** The complete text; rejects when the step failed. */
  whole(): Promise<string> {
    return this.#whole;
  }

  /** Every chunk from the first, then each new one as it arrives; throws the step's failure. */
  async *stream(): AsyncGenerator<string> {
    let read = 0;
    for (;;) {
      while (read < this.#chunks.length) yield this.#chunks[read++]!;
      if (this.#ended) {
        if (this.#failure) throw this.#failure.error;
        return;
      }
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const resolve of wake) resolve();
  }
}
