/**
 * `images list|stats|cleanup|delete|import` and the predecessor's `stats`, `list` and `cleanup`
 * aliases: the image store seen from a terminal.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { Config } from "../config.ts";
import type { ImageRecord } from "../core_types.ts";
import { AppError } from "../errors.ts";
import {
  adoptPredecessorFiles,
  classifyFileName,
  folderCatalogPath,
  formatBytesExact,
  formatDuration,
  FsImageStore,
  runCleanup,
  type UnknownFiles,
} from "../images/mod.ts";
import type { Services } from "../services.ts";
import {
  choiceOption,
  intOption,
  numberOption,
  type OptionValues,
  type ParsedArgs,
  UsageError,
} from "./args.ts";
import type { Command, OptionDoc } from "./command.ts";
import type { CliSession } from "./context.ts";
import { printJson, renderTable, shortTime, truncate } from "./output.ts";

const SORTS = ["name", "size", "age"] as const;
type Sort = (typeof SORTS)[number];

const SORT_OPTION: OptionDoc = {
  name: "sort",
  synopsis: "--sort name|size|age",
  text: "Sort by file name (A-Z), size (largest first) or age (newest first); lists all",
};

const LIST_OPTIONS: readonly OptionDoc[] = [
  { name: "limit", synopsis: "--limit N", text: "Images per page, 1-100 (default 20)" },
  { name: "cursor", synopsis: "--cursor C", text: "Continue after the previous page" },
  { name: "model", synopsis: "-m, --model MODEL", text: "Only images of this model" },
  { name: "query", synopsis: "--query TEXT", text: "Only prompts containing TEXT" },
  { name: "all", synopsis: "--all", text: "Every image, not one page" },
  SORT_OPTION,
];

const CLEANUP_OPTIONS: readonly OptionDoc[] = [
  {
    name: "dry-run",
    synopsis: "--dry-run",
    text: "Report what would be deleted; change nothing (start-up included)",
  },
  {
    name: "retention-days",
    synopsis: "--retention-days N",
    text: "Delete images older than N days (default: IMAGE_RETENTION_DAYS; 0 keeps any age)",
  },
  {
    name: "max",
    synopsis: "--max N",
    text: "Keep at most N images, deleting the oldest (default: IMAGE_MAX_COUNT)",
  },
  {
    name: "max-bytes",
    synopsis: "--max-bytes N",
    text: "Keep at most N bytes of images (default: IMAGE_MAX_BYTES)",
  },
];

/** A record as the CLI shows it: the catalog fields plus the file's path, when it has one. */
function withPath(record: ImageRecord, config: Config, services: Services) {
  return {
    ...record,
    path: services.store.kind === "fs" ? join(config.outputDir, record.fileName) : null,
  };
}

async function listImages(
  session: CliSession,
  values: OptionValues,
  forceAll: boolean,
): Promise<number> {
  const sort = choiceOption(values, "sort", SORTS);
  const all = forceAll || values.all === true || sort !== undefined;
  const limit = intOption(values, "limit", { min: 1, max: 100 }) ?? 20;
  const services = await session.services();
  const filters = { model: values.model, query: values.query };
  let items: ImageRecord[] = [];
  let nextCursor: string | null = null;
  if (all) {
    let cursor: string | undefined = values.cursor;
    do {
      const page = await services.images.list(session.caller, { ...filters, limit: 100, cursor });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    if (sort !== undefined) items = sortRecords(items, sort);
  } else {
    const page = await services.images.list(session.caller, {
      ...filters,
      limit,
      cursor: values.cursor,
    });
    items = [...page.items];
    nextCursor = page.nextCursor ?? null;
  }
  const shown = items.map((record) => withPath(record, services.config, services));
  if (session.json) {
    printJson(session.io, { items: shown, nextCursor });
    return 0;
  }
  if (shown.length === 0) {
    session.io.err("No images stored yet\n");
    return 0;
  }
  session.io.out(renderTable(
    ["ID", "CREATED", "SIZE", "PIXELS", "MODEL", "FILE", "PROMPT"],
    shown.map((r) => [
      r.id,
      shortTime(r.created),
      formatBytesExact(r.bytes),
      `${r.width}x${r.height}`,
      r.model,
      r.fileName,
      truncate(r.prompt, 50),
    ]),
  ));
  if (nextCursor !== null) session.io.err(`More images: --cursor ${nextCursor}\n`);
  return 0;
}

function sortRecords(items: ImageRecord[], sort: Sort): ImageRecord[] {
  const sorted = [...items];
  switch (sort) {
    case "name":
      return sorted.sort((a, b) => a.fileName.localeCompare(b.fileName));
    case "size":
      return sorted.sort((a, b) => b.bytes - a.bytes || a.fileName.localeCompare(b.fileName));
    case "age":
      return sorted.sort((a, b) => b.created - a.created || a.id.localeCompare(b.id));
  }
}

/** Lines telling the user which files of the folder the store left alone. */
function unknownLines(unknown: UnknownFiles): string {
  if (unknown.count === 0) return "";
  const more = unknown.count - unknown.names.length;
  return `Left alone ${unknown.count} files the service did not write:\n` +
    unknown.names.map((name) => `  ${name}\n`).join("") +
    (more > 0 ? `  … and ${more} more\n` : "");
}

async function showStats(session: CliSession): Promise<number> {
  const services = await session.services();
  const config = services.config;
  const stats = await services.store.catalog.stats(session.now());
  const unknownFiles = await services.store.unknownFiles();
  const cleanup = {
    enabled: config.cleanupEnabled,
    retentionDays: config.retentionDays,
    maxFiles: config.maxImageCount ?? null,
    maxBytes: config.maxImageBytes ?? null,
    intervalHours: config.cleanupIntervalHours,
  };
  const storage = {
    kind: services.store.kind,
    directory: services.store.kind === "fs" ? config.outputDir : null,
    catalog: folderCatalogPath(config) ?? config.kvUrl ?? config.kvPath ?? "Deno KV",
  };
  if (session.json) {
    printJson(session.io, { stats, cleanup, storage, unknownFiles });
    return 0;
  }
  const end = (file: typeof stats.oldestFile) =>
    file === null ? "—" : `${file.name} (${file.created}, ${formatDuration(file.age)} old)`;
  const rows: [string, string][] = [
    ["Images", String(stats.count)],
    ["Total size", stats.totalSizeFormatted],
    ["Average size", stats.averageSizeFormatted],
    ["Average age", stats.count === 0 ? "—" : stats.averageAgeFormatted],
    ["Oldest", end(stats.oldestFile)],
    ["Newest", end(stats.newestFile)],
    ["Store", storage.directory ?? "Deno KV (IMAGE_STORE=kv)"],
    ["Catalog", storage.catalog],
    ["Not ours", `${unknownFiles.count} files (never touched)`],
    [
      "Cleanup",
      `${cleanup.enabled ? "enabled" : "disabled"}: retention ${cleanup.retentionDays} days, ` +
      `max ${cleanup.maxFiles ?? "—"} images, max ${
        cleanup.maxBytes === null ? "—" : formatBytesExact(cleanup.maxBytes)
      }, every ${cleanup.intervalHours} h`,
    ],
  ];
  for (const [label, value] of rows) session.io.out(`${`${label}:`.padEnd(14)}${value}\n`);
  session.io.out(unknownLines(unknownFiles));
  return 0;
}

async function cleanupImages(session: CliSession, values: OptionValues): Promise<number> {
  const retentionDays = numberOption(values, "retention-days", { min: 0 });
  const maxCount = intOption(values, "max", { min: 0 });
  const maxBytes = intOption(values, "max-bytes", { min: 0 });
  const dryRun = values["dry-run"] === true;
  const services = await session.services({ readOnly: dryRun });
  const config = services.config;
  const report = await runCleanup({ store: services.store }, {
    now: session.now(),
    dryRun,
    retentionDays: retentionDays ?? config.retentionDays,
    maxCount: maxCount ?? config.maxImageCount,
    maxBytes: maxBytes ?? config.maxImageBytes,
    deleteAdopted: config.cleanupEnabled,
  });
  if (session.json) {
    printJson(session.io, report);
  } else {
    const verb = dryRun ? "Would delete" : "Deleted";
    session.io.out(
      `${verb} ${report.filesDeleted} of ${report.filesScanned} images (${
        formatBytesExact(report.spaceFreed)
      })${dryRun ? " — dry run, nothing was changed" : ""}\n`,
    );
    for (const file of report.deletedFiles) session.io.out(`  ${file}\n`);
    if (report.adoptedKept > 0) {
      session.io.out(
        `Kept ${report.adoptedKept} images adopted from the predecessor (IMAGE_CLEANUP_ENABLED is off)\n`,
      );
    }
    session.io.out(unknownLines(report.unknownFiles));
  }
  for (const problem of report.errors) {
    session.io.err(`error: cannot delete ${problem.file}: ${problem.error}\n`);
  }
  if (report.errors.length > 0) {
    throw new AppError("storage", `Cannot delete ${report.errors.length} images: see above`);
  }
  return 0;
}

async function deleteImages(session: CliSession, ids: readonly string[]): Promise<number> {
  const services = await session.services();
  const deleted: string[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    if (await services.images.delete(id, session.caller)) deleted.push(id);
    else missing.push(id);
  }
  if (session.json) printJson(session.io, { deleted, missing });
  else for (const id of deleted) session.io.out(`Deleted ${id}\n`);
  if (missing.length > 0) {
    throw new AppError(
      "not_found",
      `Cannot delete ${missing.map((id) => JSON.stringify(id)).join(", ")}: no such image`,
    );
  }
  return 0;
}

async function sameDirectory(a: string, b: string): Promise<boolean> {
  try {
    return (await Deno.realPath(a)) === (await Deno.realPath(b));
  } catch {
    return resolve(a) === resolve(b);
  }
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/** The entry at `path` itself (a link is not followed), or null when there is none. */
async function entryAt(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Gives the finished file `temp` the name `to` only while nothing has that name: a hard link fails
 * when the name is taken, where a rename would replace it. False when the name is taken.
 */
async function placeNew(temp: string, to: string): Promise<boolean> {
  try {
    await Deno.link(temp, to);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    // A file system without hard links: look once more, then rename.
    if (await entryAt(to) !== null) return false;
    await Deno.rename(temp, to);
    return true;
  }
}

async function importImages(session: CliSession, source: string): Promise<number> {
  const services = await session.services();
  const store = services.store;
  if (!(store instanceof FsImageStore)) {
    throw new UsageError(
      "Cannot import: predecessor files keep their names only in a directory store (IMAGE_STORE=fs)",
    );
  }
  const dir = resolve(source);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new AppError("not_found", `Cannot import: no directory ${JSON.stringify(dir)}`);
    }
    throw error;
  }
  if (!info.isDirectory) {
    throw new UsageError(`Cannot import: ${JSON.stringify(dir)} is not a directory`);
  }
  const inPlace = await sameDirectory(dir, store.dir);
  const copied: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const errors: { file: string; error: string }[] = [];
  if (!inPlace) {
    await store.ensureDir();
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && classifyFileName(entry.name).kind === "legacy") names.push(entry.name);
    }
    names.sort();
    for (const name of names) {
      const from = join(dir, name);
      const to = store.pathOf(name);
      try {
        // Whatever already has that name (a file, a link, a folder) is someone's: never replaced.
        const present = await entryAt(to);
        if (present !== null) {
          if (!present.isFile) {
            skipped.push({ file: name, reason: "something else of that name is in the folder" });
          } else if (!(await sameBytes(from, to))) {
            skipped.push({ file: name, reason: "a different file of that name is already stored" });
          }
          continue;
        }
        // Copied under a temporary name in the store's private folder first, so a half-copied
        // file is never adopted and nothing but finished files appears in OUTPUT_DIR.
        const temp = join(store.folder.tmp, `.import-${crypto.randomUUID()}.tmp`);
        try {
          await Deno.copyFile(from, temp);
          if (!(await placeNew(temp, to))) {
            skipped.push({ file: name, reason: "a file of that name appeared meanwhile" });
            continue;
          }
        } finally {
          await Deno.remove(temp).catch(() => {});
        }
        copied.push(name);
      } catch (error) {
        errors.push({ file: name, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  const adoption = await adoptPredecessorFiles(store);
  errors.push(...adoption.errors);
  const report = {
    source: dir,
    directory: store.dir,
    inPlace,
    copied,
    adopted: adoption.adopted,
    alreadyCatalogued: adoption.alreadyCatalogued,
    skipped,
    errors,
  };
  if (session.json) {
    printJson(session.io, report);
  } else {
    session.io.out(
      `Imported ${adoption.adopted.length} images into ${store.dir}` +
        `${inPlace ? " (catalogued in place)" : ` (${copied.length} copied)`}; ` +
        `${adoption.alreadyCatalogued} already catalogued\n`,
    );
    for (const name of adoption.adopted) session.io.out(`  ${name}\n`);
    for (const s of skipped) session.io.err(`skipped ${s.file}: ${s.reason}\n`);
  }
  for (const problem of errors) session.io.err(`error: ${problem.file}: ${problem.error}\n`);
  if (errors.length > 0) {
    throw new AppError("storage", `Cannot import ${errors.length} files: see above`);
  }
  return 0;
}

/** `images list`. */
export const imagesListCommand: Command = {
  path: ["images", "list"],
  args: "",
  summary: "List stored images, newest first",
  options: LIST_OPTIONS,
  positionals: { min: 0, max: 0 },
  run: (session, args) => listImages(session, args.values, false),
};

/** `images stats`. */
export const imagesStatsCommand: Command = {
  path: ["images", "stats"],
  args: "",
  summary: "Show how many images are stored, their size and age, and the cleanup settings",
  options: [],
  positionals: { min: 0, max: 0 },
  run: (session) => showStats(session),
};

/** `images cleanup`. */
export const imagesCleanupCommand: Command = {
  path: ["images", "cleanup"],
  args: "",
  summary: "Apply the retention policy now (whether or not IMAGE_CLEANUP_ENABLED is set)",
  details: "Deletes images older than the retention period, then the oldest images while more " +
    "than --max images or --max-bytes bytes are kept. Use --dry-run first.",
  options: CLEANUP_OPTIONS,
  positionals: { min: 0, max: 0 },
  run: (session, args) => cleanupImages(session, args.values),
};

/** `images delete <id...>`. */
export const imagesDeleteCommand: Command = {
  path: ["images", "delete"],
  args: "<id...>",
  summary: "Delete images by id (or stored file name)",
  options: [],
  positionals: { min: 1, max: 100 },
  run: (session, args) => deleteImages(session, args.positionals),
};

/** `images import <dir>`. */
export const imagesImportCommand: Command = {
  path: ["images", "import"],
  args: "<dir>",
  summary: "Adopt the predecessor's image_<ms>.png files from a directory",
  details: "Copies the files into OUTPUT_DIR and catalogues them; when <dir> is OUTPUT_DIR they " +
    "are catalogued in place. They keep their names, so old /images/<file> URLs keep working. " +
    "Running it again changes nothing.",
  options: [],
  positionals: { min: 1, max: 1 },
  run: (session, args: ParsedArgs) => importImages(session, args.positionals[0]),
};

/** The predecessor's `stats`. */
export const statsAlias: Command = {
  ...imagesStatsCommand,
  path: ["stats"],
  aliasOf: "images stats",
};

/** The predecessor's `list [--sort name|size|age]`. */
export const listAlias: Command = {
  path: ["list"],
  args: "",
  summary: "List every stored image",
  options: [SORT_OPTION],
  positionals: { min: 0, max: 0 },
  aliasOf: "images list --all",
  run: (session, args) => listImages(session, args.values, true),
};

/** The predecessor's `cleanup [--retention-days N] [--max N] [--dry-run]`. */
export const cleanupAlias: Command = {
  ...imagesCleanupCommand,
  path: ["cleanup"],
  aliasOf: "images cleanup",
};
