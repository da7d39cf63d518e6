/**
 * Group commit for directory fsyncs: many saves finishing together need their directory entries
 * durable, and one fsync of the directory covers every entry made before it started. A caller
 * joins the next fsync that starts after its call (never one already running, which may have
 * begun before its entry existed), so N concurrent saves cost about two fsyncs instead of N.
 *
 * @module
 */

const IS_WINDOWS = Deno.build.os === "windows";

async function fsyncDir(dir: string): Promise<void> {
  if (IS_WINDOWS) return; // directories cannot be opened for fsync there
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** Coalesces fsyncs of one directory: see the module doc. */
export class DirSync {
  #dir: string;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  #sync: (dir: string) => Promise<void>;

  /** Syncs `dir`; `sync` replaces the fsync (for tests). */
  constructor(dir: string, sync: (dir: string) => Promise<void> = fsyncDir) {
    this.#dir = dir;
    this.#sync = sync;
  }

  /** Resolves once an fsync of the directory that started after this call has finished. */
  sync(): Promise<void> {
    if (this.#running === null) return this.#start();
    this.#next ??= this.#running.catch(() => {}).then(() => {
      this.#next = null;
      return this.#start();
    });
    return this.#next;
  }

  #start(): Promise<void> {
    const run = this.#sync(this.#dir).finally(() => {
      if (this.#running === run) this.#running = null;
    });
    this.#running = run;
    return run;
  }
}
