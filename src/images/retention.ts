/**
 * Retention: deletes images older than `IMAGE_RETENTION_DAYS`, then the oldest ones while more
 * than `IMAGE_MAX_COUNT` images or `IMAGE_MAX_BYTES` bytes are kept, with a dry run (which changes
 * nothing at all) and a report in the predecessor's shape, plus the files in the folder the store
 * did not write (reported, never touched). Each run reconciles first. Files adopted from the
 * predecessor count as the store's, but the policy deletes them only when asked to
 * (`IMAGE_CLEANUP_ENABLED`, which the scheduled cleanup requires anyway); otherwise they are kept
 * and left out of the count and byte limits. Safe when several processes run it at
 * once: the policy is a deterministic function of the oldest-first order, and each deletion is a
 * checked atomic operation, so an image deleted by another process is neither deleted nor counted
 * again here.
 *
 * Scheduling: {@link registerCleanupCron} for the HTTP service (one hourly `Deno.cron`, registered
 * unconditionally; the handler honours `IMAGE_CLEANUP_ENABLED` and `IMAGE_CLEANUP_INTERVAL_HOURS`
 * with the last run kept in KV and claimed atomically), {@link startCleanupTimer} for the stdio
 * server (an unref'd interval that never keeps the process alive).
 *
 * @module
 */

import type { Config } from "../config.ts";
import { getLog } from "../log.ts";
import { KEYS } from "./kv_keys.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
import { reconcile, type ReconcileReport } from "./reconcile.ts";
import { type ImageStore, summarizeUnknown, type UnknownFiles } from "./store.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Collaborators of a cleanup run. */
export interface CleanupServices {
  /** The image store (and its catalog). */
  store: ImageStore;
}

/** Options of {@link runCleanup}. */
export interface CleanupOptions {
  /** Current time, epoch milliseconds (default: the catalog's clock). */
  now?: number;
  /** Report what would be deleted; delete nothing. */
  dryRun?: boolean;
  /** Delete images older than this many days; 0 or undefined keeps images of any age. */
  retentionDays?: number;
  /** Keep at most this many images (undefined: no limit). */
  maxCount?: number;
  /** Keep at most this many bytes of images (undefined: no limit). */
  maxBytes?: number;
  /** Time budget of the reconcile that precedes the policy, in milliseconds. */
  reconcileBudgetMs?: number;
  /**
   * Let the policy delete images adopted from the predecessor's folder (default false: they are
   * kept and left out of the limits). Pass `IMAGE_CLEANUP_ENABLED`.
   */
  deleteAdopted?: boolean;
}

/** A cleanup report in the predecessor's shape, plus what reconcile found. */
export interface CleanupReport {
  /** Images looked at. */
  filesScanned: number;
  /** Images deleted (or that would be, in a dry run) by this run. */
  filesDeleted: number;
  /** Bytes freed (or that would be) by this run. */
  spaceFreed: number;
  /** Images that could not be deleted. */
  errors: { file: string; error: string }[];
  /** File names deleted (or that would be) by this run. */
  deletedFiles: string[];
  /** Whether this was a dry run. */
  dryRun: boolean;
  /** Images adopted from the predecessor's folder that the policy was not allowed to delete. */
  adoptedKept: number;
  /** Files in the folder the store did not write: left alone. */
  unknownFiles: UnknownFiles;
  /** The reconcile that ran first. */
  reconcile: ReconcileReport;
}

interface Candidate {
  id: string;
  fileName: string;
  bytes: number;
  created: number;
}

/** Runs reconcile, then the retention policy; see the module documentation. */
export async function runCleanup(
  services: CleanupServices,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const store = services.store;
  const now = options.now ?? store.catalog.now();
  const dryRun = options.dryRun ?? false;
  const reconciled = await reconcile(store, {
    now,
    dryRun,
    budgetMs: options.reconcileBudgetMs,
  });
  const all: Candidate[] = [];
  let scanned = 0;
  let adoptedKept = 0;
  for await (const r of store.catalog.scanOldestFirst()) {
    scanned++;
    if (r.door === "adopted" && !options.deleteAdopted) {
      adoptedKept++;
      continue;
    }
    all.push({ id: r.id, fileName: r.fileName, bytes: r.bytes, created: r.created });
  }
  const doomed = selectForDeletion(all, now, options);
  const report: CleanupReport = {
    filesScanned: scanned,
    filesDeleted: 0,
    spaceFreed: 0,
    errors: [],
    deletedFiles: [],
    dryRun,
    adoptedKept,
    unknownFiles: summarizeUnknown(reconciled.unknownFiles),
    reconcile: reconciled,
  };
  for (const c of doomed) {
    try {
      if (dryRun) {
        if (!(await store.catalog.has(c.id))) continue;
      } else if ((await store.delete(c.id)) === null) {
        continue; // another process deleted it first: not ours to count
      }
      report.filesDeleted++;
      report.spaceFreed += c.bytes;
      report.deletedFiles.push(c.fileName);
    } catch (error) {
      report.errors.push({
        file: c.fileName,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return report;
}

/** The images the policy deletes, oldest first, from records sorted oldest first. */
function selectForDeletion(
  oldestFirst: Candidate[],
  now: number,
  options: CleanupOptions,
): Candidate[] {
  const doomed: Candidate[] = [];
  let start = 0;
  const days = options.retentionDays ?? 0;
  if (days > 0) {
    const cutoff = now - days * DAY_MS;
    while (start < oldestFirst.length && oldestFirst[start].created < cutoff) {
      doomed.push(oldestFirst[start++]);
    }
  }
  let count = oldestFirst.length - start;
  let bytes = 0;
  for (let i = start; i < oldestFirst.length; i++) bytes += oldestFirst[i].bytes;
  const maxCount = options.maxCount ?? Infinity;
  const maxBytes = options.maxBytes ?? Infinity;
  while (start < oldestFirst.length && (count > maxCount || bytes > maxBytes)) {
    const c = oldestFirst[start++];
    doomed.push(c);
    count--;
    bytes -= c.bytes;
  }
  return doomed;
}

/** Settings the scheduled cleanup reads. */
export type CleanupSettings = Pick<
  Config,
  | "cleanupEnabled"
  | "retentionDays"
  | "maxImageCount"
  | "maxImageBytes"
  | "cleanupIntervalHours"
>;

/** Collaborators of the scheduled cleanup. */
export interface CleanupDeps {
  /** The image store. */
  store: ImageStore;
  /** Retention settings. */
  settings: CleanupSettings;
  /** Clock, epoch milliseconds (default: the catalog's clock). */
  now?: () => number;
  /** Name of this process in the last-run record (default: a random id). */
  instanceId?: string;
}

/** What one scheduled tick did. */
export type CleanupTick =
  | { ran: false; reason: "disabled" | "not_due" }
  | { ran: true; report: CleanupReport }
  | { ran: false; reason: "error"; error: string };

/** The last run, as kept in KV. */
export interface LastCleanupRun {
  /** When it started, epoch milliseconds. */
  at: number;
  /** Which process ran it. */
  by: string;
}

/**
 * Claims the cleanup run of the current interval: true for exactly one caller per interval, also
 * across processes sharing the KV database (a checked atomic operation on the last-run record).
 * An hourly schedule drifts by milliseconds, so a run is due a little before the full interval.
 */
export async function claimCleanupRun(
  kv: Deno.Kv,
  options: { now: number; intervalMs: number; by: string },
): Promise<boolean> {
  const entry = await kvGet<LastCleanupRun>(kv, KEYS.cleanupLastRun());
  const slack = Math.min(5 * 60_000, options.intervalMs / 10);
  if (entry.value !== null && options.now - entry.value.at < options.intervalMs - slack) {
    return false;
  }
  const run: LastCleanupRun = { at: options.now, by: options.by };
  const result = await kvCommit(
    kv,
    (op) =>
      op.check({ key: KEYS.cleanupLastRun(), versionstamp: entry.versionstamp })
        .set(KEYS.cleanupLastRun(), run),
  );
  return result.ok;
}

/** The last cleanup run, or null when none ran yet. */
export async function lastCleanupRun(kv: Deno.Kv): Promise<LastCleanupRun | null> {
  return (await kvGet<LastCleanupRun>(kv, KEYS.cleanupLastRun())).value;
}

/**
 * Makes the scheduled cleanup handler: returns early when cleanup is disabled or not due, runs it
 * when this process claims the interval, and never throws (failures are logged and returned).
 */
export function createCleanupHandler(deps: CleanupDeps): () => Promise<CleanupTick> {
  const log = getLog("images", "retention");
  const by = deps.instanceId ?? crypto.randomUUID();
  return async () => {
    const s = deps.settings;
    if (!s.cleanupEnabled) return { ran: false, reason: "disabled" };
    const now = deps.now?.() ?? deps.store.catalog.now();
    try {
      const claimed = await claimCleanupRun(deps.store.catalog.kv, {
        now,
        intervalMs: s.cleanupIntervalHours * HOUR_MS,
        by,
      });
      if (!claimed) return { ran: false, reason: "not_due" };
      const report = await runCleanup({ store: deps.store }, {
        now,
        retentionDays: s.retentionDays,
        maxCount: s.maxImageCount,
        maxBytes: s.maxImageBytes,
        deleteAdopted: true, // this handler runs only when IMAGE_CLEANUP_ENABLED is on
      });
      log.info("Image cleanup deleted {filesDeleted} of {filesScanned} images", {
        filesDeleted: report.filesDeleted,
        filesScanned: report.filesScanned,
        spaceFreed: report.spaceFreed,
        errors: report.errors.length,
      });
      return { ran: true, report };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      log.error("Image cleanup failed: {error}", { error: text });
      return { ran: false, reason: "error", error: text };
    }
  };
}

/** Name of the cleanup cron job. */
export const CLEANUP_CRON_NAME = "image-cleanup";
/** Schedule of the cleanup cron job: hourly; the handler decides whether a run is due. */
export const CLEANUP_CRON_SCHEDULE = "0 * * * *";

/**
 * Registers the hourly cleanup cron (for the HTTP entrypoint: call it unconditionally, before
 * serving). Returns the handler, so tests can run it without waiting for the schedule.
 */
export function registerCleanupCron(
  deps: CleanupDeps & { signal?: AbortSignal },
): () => Promise<CleanupTick> {
  const handler = createCleanupHandler(deps);
  Deno.cron(
    CLEANUP_CRON_NAME,
    CLEANUP_CRON_SCHEDULE,
    deps.signal ? { signal: deps.signal } : {},
    async () => {
      await handler();
    },
  );
  return handler;
}

/**
 * Starts the cleanup timer of the stdio server: a first check shortly after start, then one per
 * hour (or per interval, when shorter). The timers are unref'd, so they never keep the process
 * alive; dispose the result to stop them.
 */
export function startCleanupTimer(
  deps: CleanupDeps & { firstDelayMs?: number; onTick?: (tick: CleanupTick) => void },
): Disposable {
  const handler = createCleanupHandler(deps);
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const result = await handler();
      deps.onTick?.(result);
    } finally {
      running = false;
    }
  };
  const periodMs = Math.max(
    1_000,
    Math.min(HOUR_MS, deps.settings.cleanupIntervalHours * HOUR_MS),
  );
  const first = setTimeout(tick, deps.firstDelayMs ?? 10_000);
  Deno.unrefTimer(first);
  const every = setInterval(tick, periodMs);
  Deno.unrefTimer(every);
  return {
    [Symbol.dispose]() {
      clearTimeout(first);
      clearInterval(every);
    },
  };
}
