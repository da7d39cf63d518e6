/**
 * The stateful MCP sessions of one process, with an end: a session with no request for
 * `MCP_SESSION_IDLE_SECONDS` is closed, and a principal holds at most `MCP_SESSIONS_PER_KEY` of
 * them (initializations still under way count), so `initialize` calls cannot pile up memory.
 * A session is never closed while one of its requests is still answering.
 *
 * @module
 */
import type { Clock } from "../clock.ts";

/** What the table needs of a session: a way to close it (server, transport, streams). */
export interface ClosableSession {
  /** Ends the session's streams and releases everything it holds. */
  close(): Promise<void>;
}

/** Options of {@link McpSessionTable}. */
export interface McpSessionTableOptions {
  /** Idle time after which a session is closed, in milliseconds. */
  idleMs: number;
  /** Most sessions one principal may hold. */
  maxPerOwner: number;
  /** Clock, epoch milliseconds. */
  now: Clock;
}

interface Entry<S> {
  readonly session: S;
  readonly owner: string;
  lastSeen: number;
  busy: number;
}

/** A place kept for a session being initialized; commit it once the id is known. */
export interface SessionSlot<S> {
  /** Registers the initialized session under `id` (the slot becomes the session). */
  commit(id: string, session: S): void;
  /** Gives the place back (initialization failed or the request was no `initialize`). */
  release(): void;
}

/** Open stateful sessions by id, with idle expiry and a per-principal cap. */
export class McpSessionTable<S extends ClosableSession> implements AsyncDisposable {
  #entries = new Map<string, Entry<S>>();
  #pending = new Map<string, number>();
  #options: McpSessionTableOptions;
  #timer: ReturnType<typeof setInterval>;

  /** Creates the table; a timer sweeps idle sessions even when no request arrives. */
  constructor(options: McpSessionTableOptions) {
    this.#options = options;
    const every = Math.min(60_000, Math.max(1_000, Math.floor(options.idleMs / 2)));
    this.#timer = setInterval(() => void this.sweep(), every);
    // An idle table must never keep a process (or a test) alive.
    Deno.unrefTimer(this.#timer);
  }

  /** Open sessions, all principals together. */
  get size(): number {
    return this.#entries.size;
  }

  /** Sessions `owner` holds, counting initializations under way. */
  countOf(owner: string): number {
    let count = this.#pending.get(owner) ?? 0;
    for (const entry of this.#entries.values()) if (entry.owner === owner) count++;
    return count;
  }

  /** Keeps a place for a new session of `owner`; null when `owner` is at the cap. */
  reserve(owner: string): SessionSlot<S> | null {
    void this.sweep();
    if (this.countOf(owner) >= this.#options.maxPerOwner) return null;
    this.#pending.set(owner, (this.#pending.get(owner) ?? 0) + 1);
    let open = true;
    const release = () => {
      if (!open) return;
      open = false;
      const left = (this.#pending.get(owner) ?? 1) - 1;
      if (left > 0) this.#pending.set(owner, left);
      else this.#pending.delete(owner);
    };
    return {
      commit: (id, session) => {
        release();
        this.#entries.set(id, { session, owner, lastSeen: this.#options.now(), busy: 0 });
      },
      release,
    };
  }

  /**
   * The session `id` and its owner, or undefined when there is none — or when it has been idle
   * too long (it is closed then, so the client's next step is a new `initialize`).
   */
  lookup(id: string): { session: S; owner: string } | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (this.#expired(entry)) {
      void this.#close(id, entry);
      return undefined;
    }
    return entry;
  }

  /**
   * Marks a request of session `id` as started; call the returned function when its answer has
   * been sent. A session is not idle while a request is being answered.
   */
  begin(id: string): () => void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return () => {};
    entry.busy++;
    entry.lastSeen = this.#options.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.busy--;
      entry.lastSeen = this.#options.now();
    };
  }

  /** Forgets session `id` without closing it (it is closing itself, e.g. on DELETE). */
  forget(id: string): S | undefined {
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    return entry?.session;
  }

  /** Closes every session idle for longer than the idle time; resolves when they are closed. */
  async sweep(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [id, entry] of this.#entries) {
      if (this.#expired(entry)) closing.push(this.#close(id, entry));
    }
    await Promise.all(closing);
  }

  /** Closes every session and stops the sweep timer. */
  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#timer);
    const closing = [...this.#entries].map(([id, entry]) => this.#close(id, entry));
    await Promise.all(closing);
  }

  #expired(entry: Entry<S>): boolean {
    return entry.busy === 0 && this.#options.now() - entry.lastSeen >= this.#options.idleMs;
  }

  async #close(id: string, entry: Entry<S>): Promise<void> {
    if (this.#entries.get(id) !== entry) return;
    this.#entries.delete(id);
    // A session that fails to close cleanly is gone from the table all the same.
    await entry.session.close().catch(() => {});
  }
}
