/**
 * SHA-256 of images as they are written, computed on a worker thread. Hashing a 3 MB image costs
 * about 2 ms of CPU; on the event loop that is time no other request is served, while a worker
 * uses a core the event loop leaves idle. Each batch of bytes is handed over (its buffer
 * transferred, not copied) once it is in the file.
 *
 * One worker serves the process, started on first use and holding the process open only while a
 * hash is running. Until it has reported ready (and for good if it cannot start), hashes run on
 * the calling thread: a save never waits for, or fails because of, the worker starting. Should the
 * worker die with hashes running, those hashes fail (their bytes are gone); later ones start on the
 * calling thread, then on a new worker.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { getLog } from "../log.ts";
import type { HashReply, HashRequest } from "./sha256_messages.ts";

/** A running SHA-256 that takes ownership of the bytes it is given. */
export interface RunningSha256 {
  /** Adds `bytes`. Their buffer may be transferred: the caller must not touch it again. */
  update(bytes: Uint8Array<ArrayBuffer>): void;
  /** The hex digest of everything added; the hash is finished. */
  digest(): Promise<string>;
  /** Forgets the hash without a digest. */
  drop(): void;
}

/** Where the worker's module is; `deno compile` embeds it by this path (scripts/compile.ts). */
const WORKER_MODULE = new URL("./sha256_worker.ts", import.meta.url);

/** Buffers of hashed batches kept for the next batches (see {@link batchBuffer}). */
const spare: ArrayBuffer[] = [];
/** The most buffers kept; beyond this, returned buffers are left to the garbage collector. */
const MAX_SPARE = 16;

function recycle(buffer: ArrayBuffer): void {
  if (spare.length < MAX_SPARE && !buffer.detached) spare.push(buffer);
}

/**
 * A buffer of at least `bytes` for a batch that will be given to {@link RunningSha256.update}:
 * a hashed batch's buffer when one of that size is back, else a new one. Memory stays bounded
 * by the batches in flight: buffers handed to the worker come back instead of piling up as its
 * garbage.
 */
export function batchBuffer(bytes: number): Uint8Array<ArrayBuffer> {
  const at = spare.findIndex((buffer) => buffer.byteLength >= bytes);
  if (at < 0) return new Uint8Array(bytes);
  const [buffer] = spare.splice(at, 1);
  return new Uint8Array(buffer);
}

/** A hash on the calling thread. */
function localSha256(): RunningSha256 {
  const hash = createHash("sha256");
  return {
    update: (bytes) => {
      hash.update(bytes);
      recycle(bytes.buffer);
    },
    digest: () => Promise.resolve(hash.digest("hex")),
    drop: () => {},
  };
}

/** One started worker and the hashes it holds. */
class HashThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, PromiseWithResolvers<string>>();
  readonly #onEnd: (thread: HashThread) => void;
  #running = 0;
  #failure: Error | null = null;
  ready = false;
  /** Resolves true once the worker listens, false if it ends first. */
  readonly started = Promise.withResolvers<boolean>();

  constructor(onEnd: (thread: HashThread) => void) {
    this.#worker = new Worker(WORKER_MODULE);
    // Held while it starts (someone may await that), then only while a hash runs (see #hold).
    this.#hold(+1);
    this.#worker.on("message", (reply: HashReply) => {
      if ("returned" in reply) {
        recycle(reply.returned);
        return;
      }
      if ("ready" in reply) {
        this.ready = true;
        this.#hold(-1);
        this.started.resolve(true);
        return;
      }
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      waiting?.resolve(reply.hex);
    });
    this.#onEnd = onEnd;
    this.#worker.on("error", (error: unknown) => this.#end(asError(error), true));
    this.#worker.on(
      "exit",
      (code: number) => this.#end(new Error(`exited with code ${code}`), true),
    );
  }

  #end(error: Error, unexpected: boolean): void {
    if (this.#failure) return;
    this.#failure = error;
    this.started.resolve(false);
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
    if (unexpected) this.#onEnd(this);
  }

  /** A hash on this thread's worker. */
  start(id: number): RunningSha256 {
    let state: "running" | "ended" = "running";
    this.#hold(+1);
    const finish = () => {
      if (state === "ended") return false;
      state = "ended";
      this.#hold(-1);
      return true;
    };
    return {
      update: (bytes) => {
        if (state === "ended") throw new TypeError("Cannot update a finished SHA-256");
        // Bytes for a dead thread are dropped; the digest reports its failure.
        if (this.#failure) return;
        const message: HashRequest = {
          kind: "update",
          id,
          buffer: bytes.buffer,
          offset: bytes.byteOffset,
          length: bytes.length,
        };
        this.#worker.postMessage(message, [bytes.buffer]);
      },
      digest: () => {
        if (state === "ended") return Promise.reject(new TypeError("SHA-256 already finished"));
        if (this.#failure) {
          finish();
          return Promise.reject(hashThreadError(this.#failure));
        }
        const waiting = Promise.withResolvers<string>();
        this.#waiting.set(id, waiting);
        this.#worker.postMessage({ kind: "digest", id } satisfies HashRequest);
        return waiting.promise.catch((error) => {
          throw hashThreadError(error);
        }).finally(finish);
      },
      drop: () => {
        if (!finish() || this.#failure) return;
        this.#worker.postMessage({ kind: "drop", id } satisfies HashRequest);
      },
    };
  }

  /** Stops the worker (tests): hashes running on it fail. */
  async stop(): Promise<void> {
    this.#end(new Error("stopped"), false);
    await this.#worker.terminate();
  }

  #hold(change: number): void {
    const before = this.#running;
    this.#running += change;
    if (before === 0 && this.#running > 0) this.#worker.ref();
    else if (before > 0 && this.#running === 0) this.#worker.unref();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function hashThreadError(cause: unknown): Error {
  return new Error(`The SHA-256 worker thread failed: ${asError(cause).message}`, { cause });
}

let thread: HashThread | null = null;
let unavailable = false;
let nextId = 1;

/**
 * A running SHA-256 for one image: on the worker thread once it is ready, on the calling thread
 * until then (or when it cannot start).
 */
export function startSha256(): RunningSha256 {
  const current = hashThread();
  return current?.ready ? current.start(nextId++) : localSha256();
}

/** The worker thread, started if needed; null when it cannot start. */
function hashThread(): HashThread | null {
  if (unavailable) return null;
  if (thread === null) {
    try {
      thread = new HashThread((ended) => {
        if (thread === ended) thread = null;
        getLog("images").warn("SHA-256 worker thread ended; hashing on the main thread for now");
      });
    } catch (error) {
      unavailable = true;
      getLog("images").warn(
        "SHA-256 worker thread unavailable, hashing on the main thread: {error}",
        {
          error: asError(error).message,
        },
      );
      return null;
    }
  }
  return thread;
}

/**
 * Starts the worker thread if it is not running; resolves true once hashes run on it, false when
 * it cannot start (hashes then run on the calling thread).
 */
export async function sha256ThreadReady(): Promise<boolean> {
  const current = hashThread();
  return current === null ? false : await current.started.promise;
}

/** Stops the worker thread if one runs (tests; the process exits without it otherwise). */
export async function stopSha256Thread(): Promise<void> {
  const running = thread;
  thread = null;
  await running?.stop();
}
