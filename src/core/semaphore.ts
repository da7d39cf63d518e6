/**
 * A counting semaphore: at most `size` tasks run at once, the rest wait in arrival order. The
 * core uses one to bound how many previews are decoded together (each holds an image's bytes and
 * pixels), so many answers finishing at once queue instead of all holding memory at once.
 *
 * @module
 */

/** Runs at most `size` tasks at once; later ones wait their turn in arrival order. */
export class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];

  /** Allows `size` (at least 1) tasks at once. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Cannot make a semaphore: size must be an integer of at least 1, got ${size}`,
      );
    }
    this.#free = size;
  }

  /** Runs `task` once a place is free, and frees it when the task settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
