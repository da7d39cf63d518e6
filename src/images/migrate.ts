/**
 * Start-up migration of the catalog's KV layout (see `kv_keys.ts`). The layout version is kept at
 * `KEYS.schemaVersion()`. A database without it is either fresh (it gets the current version) or
 * written by layout 1 (records keyed by file name, no indexes, no counters), whose records are
 * moved one atomic operation each: the old key is checked and deleted in the same operation that
 * inserts the new record with its indexes and counters, so two processes migrating at once move
 * each record exactly once, and a crash midway leaves a state the next start finishes.
 *
 * @module
 */

import { AppError } from "../errors.ts";
import { addInsert, buildRecord, type Catalog, type Door } from "./catalog.ts";
import { sniffImage } from "./codec.ts";
import { classifyFileName, mimeOfExt, newImageId, sha256Hex } from "./ids.ts";
import { KEYS, SCHEMA_VERSION, V1_KEYS, type V1Record } from "./kv_keys.ts";
import { kvCommit, kvGet, kvList } from "../kv/mod.ts";

/** Options of {@link migrateCatalog}. */
export interface MigrateOptions {
  /** Reads an image file by name (fs store); without it, layout-1 records cannot be moved. */
  readFile?: (fileName: string) => Promise<Uint8Array | null>;
}

/** What a migration did. */
export interface MigrationReport {
  /** Layout version found. */
  from: number;
  /** Layout version now. */
  to: number;
  /** Records moved to the current layout. */
  migrated: number;
  /** Old records dropped because their file is gone or their name is not acceptable. */
  dropped: string[];
  /** Problems met (the record stays in the old layout and is tried again next start). */
  errors: { file: string; error: string }[];
}

async function hasV1Records(kv: Deno.Kv): Promise<boolean> {
  for await (const _ of kvList(kv, { prefix: V1_KEYS.records() }, { limit: 1 })) return true;
  return false;
}

/** Brings the catalog's KV layout up to {@link SCHEMA_VERSION}. */
export async function migrateCatalog(
  catalog: Catalog,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const kv = catalog.kv;
  const stored = await kvGet<number>(kv, KEYS.schemaVersion());
  const from = stored.value ?? (await hasV1Records(kv) ? 1 : SCHEMA_VERSION);
  if (from > SCHEMA_VERSION) {
    throw new AppError(
      "storage",
      `Cannot open image catalog: its layout version ${from} is newer than this build's (${SCHEMA_VERSION}); upgrade the service`,
    );
  }
  const report: MigrationReport = { from, to: from, migrated: 0, dropped: [], errors: [] };
  if (from === 1) await migrateV1(catalog, options, report);
  if (report.errors.length === 0) {
    await kvCommit(
      kv,
      (op) =>
        op.check({ key: KEYS.schemaVersion(), versionstamp: stored.versionstamp })
          .set(KEYS.schemaVersion(), SCHEMA_VERSION),
    );
    report.to = SCHEMA_VERSION;
  }
  return report;
}

const V1_SOURCES: Record<string, Door> = { mcp: "mcp", http: "http", cli: "cli" };

async function migrateV1(
  catalog: Catalog,
  options: MigrateOptions,
  report: MigrationReport,
): Promise<void> {
  const kv = catalog.kv;
  for await (const entry of kvList<V1Record>(kv, { prefix: V1_KEYS.records() })) {
    const old = entry.value;
    const fileName = String(entry.key[entry.key.length - 1]);
    const drop = async () => {
      await kvCommit(
        kv,
        (op) => op.check({ key: entry.key, versionstamp: entry.versionstamp }).delete(entry.key),
      );
      report.dropped.push(fileName);
    };
    try {
      const named = classifyFileName(fileName);
      if (named.kind !== "image" && named.kind !== "legacy") {
        await drop();
        continue;
      }
      if (!options.readFile) throw new Error("no file reader to move layout-1 records");
      const bytes = await options.readFile(fileName);
      if (bytes === null) {
        await drop();
        continue;
      }
      const parsed = Date.parse(old.createdAt);
      const created = Number.isFinite(parsed)
        ? parsed
        : named.kind === "legacy"
        ? named.created
        : 0;
      const size = /^(\d+)x(\d+)$/.exec(old.size ?? "");
      const sniffed = sniffImage(bytes);
      const record = buildRecord({
        prompt: old.prompt ?? "",
        revisedPrompt: old.revised_prompt ?? null,
        model: old.model || "unknown",
        parameters: old.size ? { size: old.size } : {},
        door: V1_SOURCES[old.source ?? ""] ?? "adopted",
        created,
      }, {
        id: named.kind === "image" ? named.id : newImageId(created),
        fileName,
        mime: sniffed?.mime ?? (named.kind === "image" ? mimeOfExt(named.ext) : "image/png"),
        width: sniffed?.width ?? Number(size?.[1] ?? 0),
        height: sniffed?.height ?? Number(size?.[2] ?? 0),
        bytes: bytes.length,
        sha256: await sha256Hex(bytes),
        created,
      });
      const result = await kvCommit(kv, (op) => {
        op.check({ key: entry.key, versionstamp: entry.versionstamp }).delete(entry.key);
        addInsert(op, record);
      });
      if (result.ok) {
        report.migrated++;
      } else if ((await kvGet(kv, entry.key)).versionstamp !== null) {
        // The new layout already holds this file (e.g. adopted): the old record is redundant.
        await drop();
      }
    } catch (error) {
      report.errors.push({
        file: fileName,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
