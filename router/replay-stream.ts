/**
 * Text chunks written once and read by any number of readers, each from the first chunk, whenever it
 * joins: how one upstream answer reaches every caller that coalesced onto it, how a cached answer is
 * replayed, and how a pipeline step's answer reaches the steps that read it.
 */
export class ReplayStream {
  readonly chunks: string[] = [];
  #finished = false;
  #failure: { error: unknown } | undefined;
  #wake: (() => void)[] = [];

  static of(chunks: readonly string[]): ReplayStream {
    const stream = new ReplayStream();
    stream.chunks.push(...chunks);
    stream.end();
    return stream;
  }

  get finished(): boolean {
    return this.#finished;
  }

  push(chunk: string): void {
    this.chunks.push(chunk);
    this.#notify();
  }

  end(): void {
    this.#finished = true;
    this.#notify();
  }

  fail(error: unknown): void {
    this.#failure = { error };
    this.end();
  }

  async *read(): AsyncGenerator<string> {
    let next = 0;
    for (;;) {
      while (next < this.chunks.length) yield this.chunks[next++]!;
      if (this.#finished) {
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
