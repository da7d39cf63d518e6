/**
 * MCP tasks as KV records beside the generation jobs they wrap, so that every instance sharing
 * the configured KV answers for every task. A task record holds what the job record does not:
 * who may see the task, its lifetime, and the last stage the running instance reported.
 *
 * Keys, in the configured KV (the one holding jobs):
 * - `["mcp_tasks", "task", taskId]` → {@link TaskRecord}
 * - `["mcp_tasks", "by_principal", principalId, created, taskId]` → `true` (for `tasks/list`)
 *
 * Both expire a little after the task's TTL; readers compare the TTL against their clock, since
 * KV drops expired keys lazily.
 *
 * @module
 */
import type { JobStage, Principal } from "../../core_types.ts";
import { kvCommit, kvGet, kvList } from "../../kv/mod.ts";

const ROOT = "mcp_tasks";
/** Kept past the TTL so that a late `tasks/get` hears "expired" rather than "not found". */
const GRACE_MS = 3_600_000;

/** A task as stored. */
export interface TaskRecord {
  /** The task id: a random UUID, unguessable (task ids act as bearer tokens). */
  readonly taskId: string;
  /** The generation job the task wraps. */
  readonly jobId: string;
  /** The image ids the job reserved. */
  readonly imageIds: readonly string[];
  /** The principal that created the task; nobody else sees it. */
  readonly principalId: string;
  /**
   * That principal as it was when the task began: the task reads its job and images through the
   * core as this caller, so the core's policy decides what the task may show.
   */
  readonly owner: Principal;
  /** The tool that was called. */
  readonly tool: string;
  /** Creation time, epoch milliseconds. */
  readonly created: number;
  /** Last change of anything a client sees, epoch milliseconds. */
  readonly updated: number;
  /** Lifetime from creation, milliseconds. */
  readonly ttlMs: number;
  /** The last stage the running instance reported. */
  readonly stage: JobStage;
  /** Detail of the stage (e.g. which partial image arrived). */
  readonly detail?: string;
  /** True once a client cancelled the task; it stays cancelled whatever the job does. */
  readonly cancelled: boolean;
}

/** What {@link TaskStore.create} takes. */
export type NewTask = Omit<TaskRecord, "updated" | "stage" | "cancelled" | "detail">;

/** A page of a principal's tasks. */
export interface TaskRecordPage {
  /** Records, newest first. */
  readonly items: readonly TaskRecord[];
  /** Cursor of the next page, if any. */
  readonly nextCursor?: string;
}

function taskKey(taskId: string): Deno.KvKey {
  return [ROOT, "task", taskId];
}

function principalKey(record: Pick<TaskRecord, "principalId" | "created" | "taskId">) {
  return [ROOT, "by_principal", record.principalId, record.created, record.taskId];
}

/** Task records in KV. */
export class TaskStore {
  #kv: Deno.Kv;

  /** Creates a store over `kv` (the configured KV, shared by every instance). */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Stores a new task at `stage`; resolves once a read from any instance finds it. */
  async create(
    task: NewTask,
    stage: Pick<TaskRecord, "stage" | "detail"> = { stage: "queued" },
  ): Promise<TaskRecord> {
    const record: TaskRecord = { ...task, ...stage, updated: task.created, cancelled: false };
    const expireIn = task.ttlMs + GRACE_MS;
    const result = await kvCommit(
      this.#kv,
      (op) =>
        op.check({ key: taskKey(task.taskId), versionstamp: null })
          .set(taskKey(task.taskId), record, { expireIn })
          .set(principalKey(record), true, { expireIn }),
    );
    if (!result.ok) throw new Error(`Cannot create task: ${task.taskId} already exists`);
    return record;
  }

  /** The task `taskId`, or null. */
  async get(taskId: string): Promise<TaskRecord | null> {
    return (await kvGet<TaskRecord>(this.#kv, taskKey(taskId))).value;
  }

  /**
   * Applies `change` to the task and stores it (retried on a concurrent write); returns the stored
   * record, or null when the task does not exist or `change` returns null (nothing to store).
   */
  async update(
    taskId: string,
    change: (record: TaskRecord) => TaskRecord | null,
  ): Promise<TaskRecord | null> {
    for (;;) {
      const entry = await kvGet<TaskRecord>(this.#kv, taskKey(taskId));
      if (entry.value === null) return null;
      const next = change(entry.value);
      if (next === null) return null;
      const expireIn = Math.max(1, next.created + next.ttlMs + GRACE_MS - next.updated);
      const result = await kvCommit(
        this.#kv,
        (op) => op.check(entry).set(taskKey(taskId), next, { expireIn }),
      );
      if (result.ok) return next;
    }
  }

  /**
   * The tasks of `principalId`, newest first, `limit` at a time; `cursor` is the `nextCursor` of
   * the previous page (a RangeError when it is not one).
   */
  async list(
    principalId: string,
    options: { limit: number; cursor?: string },
  ): Promise<TaskRecordPage> {
    const prefix = [ROOT, "by_principal", principalId];
    const after = options.cursor === undefined ? undefined : decodeTaskCursor(options.cursor);
    const selector: Deno.KvListSelector = after
      ? { prefix, end: [...prefix, after.created, after.taskId] }
      : { prefix };
    const keys: Deno.KvKey[] = [];
    // One more than a page tells whether a next page exists.
    for await (
      const entry of kvList<true>(this.#kv, selector, {
        reverse: true,
        limit: options.limit + 1,
      })
    ) {
      keys.push(entry.key);
    }
    const page = keys.slice(0, options.limit);
    const records = await Promise.all(page.map((key) => this.get(String(key[key.length - 1]))));
    return {
      items: records.filter((record): record is TaskRecord => record !== null),
      ...(keys.length > options.limit ? { nextCursor: encodeCursor(page[page.length - 1]) } : {}),
    };
  }
}

/** A cursor naming the last key of a page: the next page lists the keys before it. */
function encodeCursor(key: Deno.KvKey): string {
  const [, , , created, taskId] = key;
  return btoa(JSON.stringify([created, taskId]));
}

/** The key position an {@link encodeCursor} cursor names; a RangeError for anything else. */
function decodeTaskCursor(cursor: string): { created: number; taskId: string } {
  try {
    const [created, taskId] = JSON.parse(atob(cursor));
    if (Number.isSafeInteger(created) && typeof taskId === "string") return { created, taskId };
  } catch {
    // Reported below, with what a cursor is.
  }
  throw new RangeError(
    `Invalid cursor ${
      JSON.stringify(cursor.slice(0, 40))
    }: pass the nextCursor of a tasks/list answer`,
  );
}
