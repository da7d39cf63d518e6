/**
 * Which processes are alive. Every process that runs generation jobs is an instance with its own
 * id: it writes a heartbeat to KV every interval and indexes the jobs it starts under its id. A
 * job whose instance missed three beats (or left none) was interrupted — its process died without
 * finishing it. Live instances mark such jobs failed at start-up and on every beat, so a job of a
 * killed process reads as interrupted within a minute, not after the longest possible upstream
 * call.
 *
 * Keys, in the configured KV:
 * - `["instances", "beat", instanceId]` → `{ at, intervalMs }` (the last beat and its interval)
 * - `["instances", "jobs", instanceId, jobId]` → `true` while the job runs there
 *
 * @module
 */
import { getLog } from "../log.ts";

const log = getLog("instances");

/** Default time between two heartbeats of a process. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Beats an instance may miss before its jobs count as interrupted. */
export const MISSED_BEATS = 3;
/** How long a heartbeat or job index entry is kept when nobody removes it (KV clean-up only). */
const KEEP_MS = 86_400_000;

const BEAT = ["instances", "beat"] as const;
const JOBS = ["instances", "jobs"] as const;

/** A heartbeat as stored. */
interface Beat {
  /** When it was written, epoch milliseconds (the writer's clock). */
  readonly at: number;
  /** The writer's interval: it is dead after {@link MISSED_BEATS} of them without a beat. */
  readonly intervalMs: number;
}

/** Options of {@link Instance}. */
export interface InstanceOptions {
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** Marks a job of a dead instance as interrupted, with a message saying so. */
  interrupt: (jobId: string, message: string) => Promise<void>;
  /** Time between heartbeats (default {@link DEFAULT_HEARTBEAT_MS}). */
  intervalMs?: number;
  /** The instance id (default: a random UUID). */
  id?: string;
}

/** Why a job of a dead instance failed, as its record and lookups say. */
export const INTERRUPTED_MESSAGE = "The generation was interrupted: the process running it " +
  "stopped before it finished; generate it again";

/** This process as a job-running instance: its id, heartbeat and job index. */
export class Instance implements AsyncDisposable {
  /** This instance's id, stored on the jobs it runs. */
  readonly id: string;
  #kv: Deno.Kv;
  #now: () => number;
  #interrupt: (jobId: string, message: string) => Promise<void>;
  #intervalMs: number;
  #timer?: ReturnType<typeof setInterval>;
  #beating?: Promise<void>;
  #closed = false;

  /** Creates the instance; {@link start} writes the first beat. */
  constructor(kv: Deno.Kv, options: InstanceOptions) {
    const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_MS;
    if (!(intervalMs > 0)) throw new RangeError(`Invalid heartbeat interval: ${intervalMs} ms`);
    this.id = options.id ?? crypto.randomUUID();
    this.#kv = kv;
    this.#now = options.now;
    this.#interrupt = options.interrupt;
    this.#intervalMs = intervalMs;
  }

  /** Beats once (sweeping dead instances' jobs), then every interval on an unref'd timer. */
  async start(): Promise<void> {
    await this.beat();
    if (this.#closed || this.#timer !== undefined) return;
    const timer = setInterval(() => {
      // A slow KV must not pile up beats: skip a tick while the previous one still runs.
      this.#beating ??= this.beat()
        .catch((error) =>
          log.warning("Heartbeat of instance {id} failed: {message}", {
            id: this.id,
            message: String(error?.message ?? error),
          })
        )
        .finally(() => this.#beating = undefined);
    }, this.#intervalMs);
    // The stdio server and the CLI must still exit when their work is done.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Writes this instance's heartbeat, then marks the jobs of dead instances interrupted. */
  async beat(): Promise<void> {
    if (this.#closed) return;
    const beat: Beat = { at: this.#now(), intervalMs: this.#intervalMs };
    await this.#kv.set([...BEAT, this.id], beat, { expireIn: KEEP_MS });
    await this.sweep();
  }

  /** Records that `jobId` runs here; call before the job is visible to others. */
  async jobStarted(jobId: string): Promise<void> {
    await this.#kv.set([...JOBS, this.id, jobId], true, { expireIn: KEEP_MS });
  }

  /**
   * Adds "`jobId` runs here" to `op`, an atomic operation on this instance's KV (the commit that
   * creates the job, so the job is never visible unindexed).
   */
  indexJob(op: Deno.AtomicOperation, jobId: string): void {
    op.set([...JOBS, this.id, jobId], true, { expireIn: KEEP_MS });
  }

  /** Records that `jobId` no longer runs here (finished, failed or cancelled). */
  async jobFinished(jobId: string): Promise<void> {
    await this.#kv.delete([...JOBS, this.id, jobId]);
  }

  /** Adds "`jobId` no longer runs here" to `op`, an atomic operation on this instance's KV. */
  unindexJob(op: Deno.AtomicOperation, jobId: string): void {
    op.delete([...JOBS, this.id, jobId]);
  }

  /** Whether `instanceId` beat within its last {@link MISSED_BEATS} intervals. */
  async isAlive(instanceId: string): Promise<boolean> {
    if (instanceId === this.id) return !this.#closed;
    const beat = (await this.#kv.get<Beat>([...BEAT, instanceId])).value;
    return beat !== null && this.#now() - beat.at <= MISSED_BEATS * beat.intervalMs;
  }

  /**
   * Marks every job indexed under a dead instance as interrupted and forgets that instance;
   * returns how many jobs were marked.
   */
  async sweep(): Promise<number> {
    const alive = new Map<string, boolean>();
    let marked = 0;
    for await (const entry of this.#kv.list({ prefix: JOBS })) {
      const [, , instanceId, jobId] = entry.key as [string, string, string, string];
      if (!alive.has(instanceId)) alive.set(instanceId, await this.isAlive(instanceId));
      if (alive.get(instanceId)) continue;
      await this.#interrupt(jobId, INTERRUPTED_MESSAGE);
      await this.#kv.delete(entry.key);
      marked++;
    }
    for await (const entry of this.#kv.list<Beat>({ prefix: BEAT })) {
      const instanceId = entry.key[2] as string;
      if (!(alive.get(instanceId) ?? await this.isAlive(instanceId))) {
        await this.#kv.delete(entry.key);
      }
    }
    if (marked > 0) {
      log.info("Marked {count} jobs of stopped instances interrupted", { count: marked });
    }
    return marked;
  }

  /** Stops beating and removes the heartbeat: jobs still indexed here now read as interrupted. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#beating;
    await this.#kv.delete([...BEAT, this.id]);
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
