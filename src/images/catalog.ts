/**
 * The image catalog in Deno KV: one record per image with secondary indexes (time, creator,
 * model, file name) and counters (count, bytes, sum of creation times), all committed in the same
 * atomic operation as the record, so an index or counter never disagrees with the records. Long
 * texts (a 32,000-character prompt can exceed the 64 KiB value limit) are kept in parts under
 * their own keys, written in that same atomic operation. Also the job states of pending
 * generations, which may live in another KV than the records (the configured KV, while the records
 * travel with the image folder). The key layout is in `kv_keys.ts`.
 *
 * @module
 */

import { AppError, ValidationError } from "../errors.ts";
import { isImageId, isJobId, isStoreFileName } from "./ids.ts";
import { KEYS, type TextField } from "./kv_keys.ts";
import { kvCommit, kvGet, kvGetMany, kvList } from "../kv/mod.ts";
import { systemClock } from "../clock.ts";
import { formatBytes } from "../format_bytes.ts";

/** Where a request for an image came in. */
export type Door = "mcp" | "http" | "v1" | "cli" | "adopted";

/** Every {@link Door}. */
export const DOORS: readonly Door[] = Object.freeze(["mcp", "http", "v1", "cli", "adopted"]);

/**
 * State of a catalogued image. A record is committed only once its bytes are durable, so every
 * record is `ready`; the field leaves room for states a future store may need.
 */
export type ImageState = "ready";

/** The thumbnail stored beside an image. */
export interface ThumbnailInfo {
  /** File name (`<id>.thumb.webp`). */
  fileName: string;
  /** MIME type (`image/webp`). */
  mime: string;
  /** Size in bytes. */
  bytes: number;
}

/** One catalogued image. */
export interface CatalogRecord {
  /** Image id (UUIDv7). */
  id: string;
  /** File name: `<id>.<ext>`, or the predecessor's `image_<ms>.png` for adopted files. */
  fileName: string;
  /** MIME type of the bytes. */
  mime: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Size of the image bytes. */
  bytes: number;
  /** Lower-case hex SHA-256 of the image bytes. */
  sha256: string;
  /** The prompt ("" when unknown, as for adopted files). */
  prompt: string;
  /** The prompt as revised by the model, if any. */
  revisedPrompt: string | null;
  /** Model id. */
  model: string;
  /** Request parameters (size, quality, …). */
  parameters: Record<string, unknown>;
  /** Token usage reported by the upstream, if any. */
  usage: Record<string, unknown> | null;
  /** Cost in US dollars, when known. */
  costUsd: number | null;
  /** Who asked for it (key id, `anonymous`, …), if known. */
  creator: string | null;
  /** Which door the request came through. */
  door: Door;
  /** Creation time, epoch milliseconds. */
  created: number;
  /** The generation job that made it, if any. */
  jobId: string | null;
  /** Always `ready`: see {@link ImageState}. */
  state: ImageState;
  /** The thumbnail, when one is stored. */
  thumbnail: ThumbnailInfo | null;
}

/** Descriptive fields a caller supplies when saving an image. */
export interface RecordFields {
  /** The prompt. */
  prompt: string;
  /** The revised prompt. */
  revisedPrompt?: string | null;
  /** Model id. */
  model: string;
  /** Request parameters. */
  parameters?: Record<string, unknown>;
  /** Token usage. */
  usage?: Record<string, unknown> | null;
  /** Cost in US dollars. */
  costUsd?: number | null;
  /** Who asked for it. */
  creator?: string | null;
  /** Which door. */
  door: Door;
  /** Generation job id. */
  jobId?: string | null;
  /** Creation time (default: now). */
  created?: number;
}

interface TextPartsInfo {
  parts: number;
  chars: number;
}

/**
 * The value stored at `KEYS.record(id)`: long texts replaced by a parts description, and — in a
 * catalog shared by several image folders — the absolute folder the bytes were written to.
 */
interface StoredRecord extends CatalogRecord {
  text?: Partial<Record<TextField, TextPartsInfo>>;
  folder?: string;
}

/** Longest text kept inside the record itself, in UTF-16 code units (at most 4 KiB). */
export const INLINE_TEXT_MAX_CHARS = 2048;
/** Size of one part of a long text, in UTF-16 code units (at most 32 KiB of a 64 KiB value). */
export const TEXT_PART_CHARS = 16_384;
/**
 * Longest text field accepted, in UTF-16 code units: 4× the longest prompt OpenAI takes (32,000
 * characters), and small enough that both text fields (2 × 256 KiB at most), the record and its
 * indexes always fit in the record's atomic operation (800 KiB).
 */
export const TEXT_MAX_CHARS = 128_000;
/** Largest record without its long texts, in bytes of JSON. */
export const RECORD_MAX_BYTES = 48 * 1024;
const KEY_TEXT_MAX = 200;
const TWO_64 = 1n << 64n;

const encoder = new TextEncoder();

function u64(n: number): bigint {
  return BigInt(n);
}

function negU64(n: number): bigint {
  return (TWO_64 - BigInt(n)) % TWO_64;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeyText(field: string, value: unknown, nullable: boolean): void {
  if (value === null && nullable) return;
  if (typeof value !== "string" || value.length === 0 || value.length > KEY_TEXT_MAX) {
    throw new ValidationError(
      field,
      `Invalid ${field}: expected a string of 1 to ${KEY_TEXT_MAX} characters${
        nullable ? " or null" : ""
      }`,
    );
  }
}

/** Checks a complete record; throws a {@link ValidationError} naming the first bad field. */
export function validateRecord(record: CatalogRecord): void {
  if (!isImageId(record.id)) throw new ValidationError("id", "Invalid id: expected a UUIDv7");
  if (!isStoreFileName(record.fileName) || record.fileName.startsWith(".")) {
    throw new ValidationError("fileName", `Invalid fileName: ${JSON.stringify(record.fileName)}`);
  }
  if (typeof record.mime !== "string" || !/^image\/[a-z0-9.+-]{1,40}$/.test(record.mime)) {
    throw new ValidationError("mime", `Invalid mime: ${JSON.stringify(record.mime)}`);
  }
  for (const field of ["width", "height"] as const) {
    const v = record[field];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ValidationError(field, `Invalid ${field}: expected a whole number of pixels`);
    }
  }
  if (!Number.isSafeInteger(record.bytes) || record.bytes < 0) {
    throw new ValidationError("bytes", "Invalid bytes: expected a whole number");
  }
  if (typeof record.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(record.sha256)) {
    throw new ValidationError("sha256", "Invalid sha256: expected 64 hex digits");
  }
  if (typeof record.prompt !== "string") {
    throw new ValidationError("prompt", "Invalid prompt: expected a string");
  }
  if (record.revisedPrompt !== null && typeof record.revisedPrompt !== "string") {
    throw new ValidationError("revisedPrompt", "Invalid revisedPrompt: expected a string or null");
  }
  for (const field of ["prompt", "revisedPrompt"] as const) {
    const text = record[field];
    if (text !== null && text.length > TEXT_MAX_CHARS) {
      throw new ValidationError(
        field,
        `Invalid ${field}: longer than ${TEXT_MAX_CHARS} characters`,
      );
    }
  }
  checkKeyText("model", record.model, false);
  checkKeyText("creator", record.creator, true);
  if (!DOORS.includes(record.door)) {
    throw new ValidationError("door", `Invalid door: ${JSON.stringify(record.door)}`);
  }
  if (!Number.isSafeInteger(record.created) || record.created < 0) {
    throw new ValidationError("created", "Invalid created: expected epoch milliseconds");
  }
  if (!isPlainObject(record.parameters)) {
    throw new ValidationError("parameters", "Invalid parameters: expected an object");
  }
  if (record.usage !== null && !isPlainObject(record.usage)) {
    throw new ValidationError("usage", "Invalid usage: expected an object or null");
  }
  if (record.costUsd !== null && !Number.isFinite(record.costUsd)) {
    throw new ValidationError("costUsd", "Invalid costUsd: expected a number or null");
  }
  if (record.jobId !== null && !isJobId(record.jobId)) {
    throw new ValidationError("jobId", "Invalid jobId: expected a UUIDv7");
  }
  const size = encoder.encode(JSON.stringify({ ...record, prompt: "", revisedPrompt: null }))
    .length;
  if (size > RECORD_MAX_BYTES) {
    throw new ValidationError(
      "parameters",
      `Invalid record: it takes ${size} bytes without its texts (limit ${RECORD_MAX_BYTES}); shorten parameters or usage`,
    );
  }
}

/** Builds a complete record from the fields a caller supplies and what the store measured. */
export function buildRecord(
  fields: RecordFields,
  measured: {
    id: string;
    fileName: string;
    mime: string;
    width: number;
    height: number;
    bytes: number;
    sha256: string;
    created: number;
    thumbnail?: ThumbnailInfo | null;
  },
): CatalogRecord {
  const record: CatalogRecord = {
    id: measured.id,
    fileName: measured.fileName,
    mime: measured.mime,
    width: measured.width,
    height: measured.height,
    bytes: measured.bytes,
    sha256: measured.sha256,
    prompt: fields.prompt,
    revisedPrompt: fields.revisedPrompt ?? null,
    model: fields.model,
    parameters: fields.parameters ?? {},
    usage: fields.usage ?? null,
    costUsd: fields.costUsd ?? null,
    creator: fields.creator ?? null,
    door: fields.door,
    created: fields.created ?? measured.created,
    jobId: fields.jobId ?? null,
    state: "ready",
    thumbnail: measured.thumbnail ?? null,
  };
  validateRecord(record);
  return record;
}

/** What a record's storage takes: the stored value and the long-text parts beside it. */
interface Encoded {
  stored: StoredRecord;
  parts: { key: Deno.KvKey; value: string }[];
}

function encodeRecord(record: CatalogRecord, folder: string | null): Encoded {
  const stored: StoredRecord = folder === null ? { ...record } : { ...record, folder };
  const parts: Encoded["parts"] = [];
  for (const field of ["prompt", "revisedPrompt"] as const) {
    const text = record[field];
    if (text === null || text.length <= INLINE_TEXT_MAX_CHARS) continue;
    // Split by UTF-16 code units: KV stores strings as V8 does, so every part (even one that
    // ends inside a surrogate pair) comes back exactly.
    const count = Math.ceil(text.length / TEXT_PART_CHARS);
    for (let n = 0; n < count; n++) {
      parts.push({
        key: KEYS.text(record.id, field, n),
        value: text.slice(n * TEXT_PART_CHARS, (n + 1) * TEXT_PART_CHARS),
      });
    }
    stored.text = { ...stored.text, [field]: { parts: count, chars: text.length } };
    stored[field] = "";
  }
  return { stored, parts };
}

function textKeys(stored: StoredRecord): Deno.KvKey[] {
  const keys: Deno.KvKey[] = [];
  for (const [field, info] of Object.entries(stored.text ?? {})) {
    for (let n = 0; n < (info as TextPartsInfo).parts; n++) {
      keys.push(KEYS.text(stored.id, field as TextField, n));
    }
  }
  return keys;
}

function indexKeys(record: CatalogRecord): Deno.KvKey[] {
  const keys = [
    KEYS.byTime(record.created, record.id),
    KEYS.byModel(record.model, record.created, record.id),
    KEYS.byFile(record.fileName),
  ];
  if (record.creator !== null) keys.push(KEYS.byCreator(record.creator, record.created, record.id));
  return keys;
}

/**
 * Adds the mutations that insert `record` (record, indexes, text parts, counters) to `op`,
 * guarded by checks that neither the id nor the file name is taken.
 */
export function addInsert(
  op: Deno.AtomicOperation,
  record: CatalogRecord,
  folder: string | null = null,
): Deno.AtomicOperation {
  const { stored, parts } = encodeRecord(record, folder);
  op.check({ key: KEYS.record(record.id), versionstamp: null });
  op.check({ key: KEYS.byFile(record.fileName), versionstamp: null });
  op.set(KEYS.record(record.id), stored);
  for (const key of indexKeys(record)) op.set(key, record.id);
  for (const part of parts) op.set(part.key, part.value);
  op.sum(KEYS.counter("count"), 1n);
  op.sum(KEYS.counter("bytes"), u64(record.bytes));
  op.sum(KEYS.counter("created_sum"), u64(record.created));
  return op;
}

function addRemove(
  op: Deno.AtomicOperation,
  stored: StoredRecord,
  versionstamp: string,
): Deno.AtomicOperation {
  op.check({ key: KEYS.record(stored.id), versionstamp });
  op.delete(KEYS.record(stored.id));
  for (const key of indexKeys(stored)) op.delete(key);
  for (const key of textKeys(stored)) op.delete(key);
  op.sum(KEYS.counter("count"), negU64(1));
  op.sum(KEYS.counter("bytes"), negU64(stored.bytes));
  op.sum(KEYS.counter("created_sum"), negU64(stored.created));
  return op;
}

/** A position in a listing, as an opaque string. */
interface CursorData {
  k: string;
  c: number;
  i: string;
}

function encodeCursor(data: CursorData): string {
  return btoa(JSON.stringify(data)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string, kind: string): CursorData {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const data = JSON.parse(json) as CursorData;
    if (
      data.k === kind && Number.isSafeInteger(data.c) && isImageId(data.i)
    ) return data;
  } catch {
    // fall through
  }
  throw new ValidationError("cursor", "Invalid cursor: use the cursor of the previous page");
}

/** Filters and paging of {@link Catalog.list}. */
export interface ListOptions {
  /** Page size, 1 to 200 (default 50). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string | null;
  /** Start after this record's place instead of a cursor (OpenAI-style `after=<id>` paging). */
  after?: Pick<CatalogRecord, "created" | "id">;
  /** Only this model. */
  model?: string;
  /** Only this creator. */
  creator?: string;
  /** Only prompts (or revised prompts) containing this text, case-insensitive. */
  text?: string;
}

/** One page of a listing, newest first. */
export interface ListPage {
  /** The records of this page. */
  items: CatalogRecord[];
  /** Cursor of the next page, or null at the end. */
  cursor: string | null;
}

/** One end of the catalog in {@link ImageStats}. */
export interface FileSummary {
  /** File name. */
  name: string;
  /** Image id. */
  id: string;
  /** Creation time, ISO 8601. */
  created: string;
  /** Size in bytes. */
  size: number;
  /** Age in milliseconds. */
  age: number;
}

/** Statistics in the predecessor's shape, plus formatted companions. */
export interface ImageStats {
  /** Number of images. */
  count: number;
  /** Total bytes of the images. */
  totalSize: number;
  /** `totalSize` for people (`12.5 MB`). */
  totalSizeFormatted: string;
  /** The oldest image, or null when empty. */
  oldestFile: FileSummary | null;
  /** The newest image, or null when empty. */
  newestFile: FileSummary | null;
  /** Mean age in milliseconds (0 when empty). */
  averageAge: number;
  /** `averageAge` for people (`3.2 days`). */
  averageAgeFormatted: string;
  /** Mean size in bytes, rounded (0 when empty). */
  averageSize: number;
  /** `averageSize` for people. */
  averageSizeFormatted: string;
}

/** Counter values kept beside the records. */
export interface CatalogCounters {
  /** Number of records. */
  count: number;
  /** Sum of `bytes`. */
  bytes: number;
  /** Sum of `created`. */
  createdSum: number;
}

/** Formats a byte count with binary units and two decimals: `0 B`, `1.5 KB`, `12.25 MB`. */
export function formatBytesExact(bytes: number): string {
  return formatBytes(bytes, { exact: true });
}

/** Formats a duration in milliseconds: `45 s`, `12 min`, `3.5 h`, `2.1 days`. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) return `${Number((s / 3600).toFixed(1))} h`;
  return `${Number((s / 86_400).toFixed(1))} days`;
}

/** Lifecycle state of a generation job as kept in KV. */
export type JobState = "pending" | "running" | "succeeded" | "failed" | "cancelled";

const TERMINAL_JOB_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled"];
const JOB_STATES: readonly JobState[] = ["pending", "running", ...TERMINAL_JOB_STATES];
const JOB_PROMPT_MAX_CHARS = 4000;
const JOB_RETENTION_MS = 30 * 86_400_000;

/** A generation job: what was asked, where it stands, and the images it made. */
export interface JobRecord {
  /** Job id. */
  jobId: string;
  /** Current state. */
  state: JobState;
  /** The prompt, cut to 4,000 characters (the image record keeps it whole). */
  prompt: string;
  /** True when `prompt` was cut. */
  promptTruncated: boolean;
  /** Model id. */
  model: string;
  /** Who asked. */
  creator: string | null;
  /** Which door. */
  door: Door;
  /** Ids of the job's images: reserved ones while pending, the stored ones once succeeded. */
  imageIds: string[];
  /** Why it failed (state `failed` only). */
  error: { kind: string; message: string } | null;
  /** Creation time, epoch milliseconds. */
  created: number;
  /** Last change, epoch milliseconds. */
  updated: number;
  /** The process (instance id) running it; absent on jobs recorded before instances existed. */
  instance?: string;
}

/** What {@link Catalog.createJob} takes. */
export interface NewJob {
  /** The prompt. */
  prompt: string;
  /** Model id. */
  model: string;
  /** Who asked. */
  creator?: string | null;
  /** Which door. */
  door: Door;
  /** Image ids reserved for the job's results, so a pending image can be looked up. */
  imageIds?: string[];
  /** The process (instance id) that runs it. */
  instance?: string;
  /**
   * `running` for a job that starts at once (saves the commit of a separate `running` update);
   * default `pending`.
   */
  state?: "pending" | "running";
}

/** A job as its writer last committed it, with that commit's versionstamp. */
export interface KnownJob {
  /** The job as written. */
  job: JobRecord;
  /** The versionstamp of the commit that wrote it. */
  versionstamp: string;
}

/** A change of a job's state (see {@link Catalog.updateJob}). */
export interface JobUpdate {
  /** The new state. */
  state: JobState;
  /** The stored images (with `succeeded`). */
  imageIds?: string[];
  /** What went wrong (with `failed`). */
  error?: { kind: string; message: string };
}

/** Options of {@link Catalog}. */
export interface CatalogOptions {
  /** Clock, epoch milliseconds (default `Date.now`). */
  now?: () => number;
  /** Where job states live (default: the catalog's own KV). */
  jobsKv?: Deno.Kv;
  /**
   * The absolute image folder this process writes to, when the catalog is shared by several
   * folders (an explicit `KV_PATH`/`KV_URL`): new records name it. Null (the default) for a
   * catalog that lives in its folder, whose records need not name it.
   */
  folder?: string | null;
}

/** A record as stored, with the folder it names (null: the catalog's own folder). */
export interface ScannedRecord {
  /** The record (long texts not put back together). */
  record: CatalogRecord;
  /** Its versionstamp. */
  versionstamp: string;
  /** The folder the record names, or null when it names none. */
  folder: string | null;
}

function strip(stored: StoredRecord): CatalogRecord {
  const record: StoredRecord = { ...stored };
  delete record.text;
  delete record.folder;
  return record;
}

/** Extra mutations for the atomic operation of an insert or remove. */
export type AtomicExtension = (op: Deno.AtomicOperation) => void;

/** The image catalog over one Deno KV database, and job states (in the same or another KV). */
export class Catalog {
  #kv: Deno.Kv;
  #jobsKv: Deno.Kv;
  #now: () => number;
  #folder: string | null;

  /** Creates a catalog over `kv` (the KV handles stay owned by the caller). */
  constructor(kv: Deno.Kv, options: CatalogOptions = {}) {
    this.#kv = kv;
    this.#jobsKv = options.jobsKv ?? kv;
    this.#now = options.now ?? systemClock;
    this.#folder = options.folder ?? null;
  }

  /** The KV database of the records. */
  get kv(): Deno.Kv {
    return this.#kv;
  }

  /** The folder new records name (a shared catalog), or null. */
  get folder(): string | null {
    return this.#folder;
  }

  /** The clock. */
  now(): number {
    return this.#now();
  }

  /**
   * Inserts `record` with its indexes and counters in one atomic operation, together with the
   * mutations `extend` adds. Throws a `conflict` {@link AppError} when the id or file name is
   * taken or a check added by `extend` fails.
   */
  async insert(
    record: CatalogRecord,
    options: { extend?: AtomicExtension } = {},
  ): Promise<CatalogRecord> {
    validateRecord(record);
    const result = await kvCommit(this.#kv, (op) => {
      addInsert(op, record, this.#folder);
      options.extend?.(op);
    });
    if (!result.ok) {
      throw new AppError(
        "conflict",
        `Cannot save image: id or file name already taken: ${record.fileName}`,
      );
    }
    return record;
  }

  /** The record of `id`, with long texts put back together, or null. */
  async get(id: string): Promise<CatalogRecord | null> {
    return (await this.getEntry(id))?.record ?? null;
  }

  /** The record of `id` and its versionstamp, or null. */
  async getEntry(id: string): Promise<{ record: CatalogRecord; versionstamp: string } | null> {
    if (!isImageId(id)) return null;
    const entry = await kvGet<StoredRecord>(this.#kv, KEYS.record(id));
    if (entry.value === null) return null;
    return { record: await this.#assemble(entry.value), versionstamp: entry.versionstamp };
  }

  /** The record of the image stored under `fileName` (including predecessor names), or null. */
  async getByFileName(fileName: string): Promise<CatalogRecord | null> {
    if (!isStoreFileName(fileName)) return null;
    const entry = await kvGet<string>(this.#kv, KEYS.byFile(fileName));
    return entry.value === null ? null : await this.get(entry.value);
  }

  /** Looks an image up by id or by file name. */
  resolve(ref: string): Promise<CatalogRecord | null> {
    return isImageId(ref) ? this.get(ref) : this.getByFileName(ref);
  }

  /** True when a record exists for `id`. */
  async has(id: string): Promise<boolean> {
    if (!isImageId(id)) return false;
    return (await kvGet(this.#kv, KEYS.record(id))).versionstamp !== null;
  }

  /**
   * Removes the record of `id` with its indexes, text parts and counters in one atomic operation
   * (plus the mutations `extend` adds). Returns the removed record, or null when there was none —
   * so two processes removing the same image count it once.
   */
  async remove(
    id: string,
    options: { extend?: (op: Deno.AtomicOperation, record: CatalogRecord) => void } = {},
  ): Promise<CatalogRecord | null> {
    if (!isImageId(id)) return null;
    for (;;) {
      const entry = await kvGet<StoredRecord>(this.#kv, KEYS.record(id));
      if (entry.value === null) return null;
      const stored = entry.value;
      const result = await kvCommit(this.#kv, (op) => {
        addRemove(op, stored, entry.versionstamp);
        options.extend?.(op, stored);
      });
      if (result.ok) return strip(stored);
    }
  }

  /** Records the thumbnail of `id`; returns the updated record, or null when it is gone. */
  async setThumbnail(id: string, thumbnail: ThumbnailInfo): Promise<CatalogRecord | null> {
    if (!isImageId(id)) return null;
    for (;;) {
      const entry = await kvGet<StoredRecord>(this.#kv, KEYS.record(id));
      if (entry.value === null) return null;
      const stored = { ...entry.value, thumbnail };
      const result = await kvCommit(
        this.#kv,
        (op) =>
          op.check({ key: KEYS.record(id), versionstamp: entry.versionstamp })
            .set(KEYS.record(id), stored),
      );
      if (result.ok) return await this.#assemble(stored);
    }
  }

  /** Lists records newest first, filtered, one page at a time. */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const limit = options.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 200) {
      throw new ValidationError("limit", "Invalid limit: expected 1 to 200");
    }
    // Filters become part of a KV key, whose size is limited: a caller's overlong value is a bad
    // request, not a storage failure.
    if (options.creator !== undefined) checkKeyText("creator", options.creator, false);
    if (options.model !== undefined) checkKeyText("model", options.model, false);
    let prefix: Deno.KvKey;
    let kind: string;
    if (options.creator !== undefined) {
      prefix = KEYS.byCreatorPrefix(options.creator);
      kind = `c:${options.creator}`;
    } else if (options.model !== undefined) {
      prefix = KEYS.byModelPrefix(options.model);
      kind = `m:${options.model}`;
    } else {
      prefix = KEYS.byTimePrefix();
      kind = "t";
    }
    const needle = options.text?.toLowerCase();
    if (needle !== undefined) kind += `|q:${needle}`;
    const after = options.cursor
      ? decodeCursor(options.cursor, kind)
      : options.after
      ? { k: kind, c: options.after.created, i: options.after.id }
      : null;
    const selector: Deno.KvListSelector = after
      ? { prefix, end: [...prefix, after.c, after.i] }
      : { prefix };
    const items: CatalogRecord[] = [];
    let last = null as CursorData | null;
    let leftover = false;
    let scanned = 0;
    const maxScan = needle === undefined ? 10_000 : 5_000;
    let batch: { created: number; id: string }[] = [];
    let done = false;
    const flush = async () => {
      const records = await kvGetMany<StoredRecord>(
        this.#kv,
        batch.map((b) => KEYS.record(b.id)),
      );
      for (let i = 0; i < batch.length && !done; i++) {
        last = { k: kind, c: batch[i].created, i: batch[i].id };
        const stored = records[i].value;
        if (stored === null) continue;
        if (options.model !== undefined && stored.model !== options.model) continue;
        const record = await this.#assemble(stored);
        if (needle !== undefined && !matchesText(record, needle)) continue;
        items.push(record);
        if (items.length >= limit) {
          done = true;
          leftover = i < batch.length - 1;
        }
      }
      batch = [];
    };
    let exhausted = true;
    for await (const entry of kvList<string>(this.#kv, selector, { reverse: true })) {
      const key = entry.key;
      batch.push({ created: key[key.length - 2] as number, id: key[key.length - 1] as string });
      scanned++;
      if (batch.length === 10) await flush();
      if (done || scanned >= maxScan) {
        exhausted = false;
        break;
      }
    }
    if (!done && batch.length > 0) await flush();
    if (leftover) exhausted = false;
    const next = !exhausted && last !== null ? encodeCursor(last) : null;
    return { items, cursor: next };
  }

  /** Every record, oldest first (long texts are not put back together). */
  async *scanOldestFirst(): AsyncGenerator<CatalogRecord> {
    let batch: string[] = [];
    const load = async function* (kv: Deno.Kv, ids: string[]) {
      const entries = await kvGetMany<StoredRecord>(kv, ids.map((id) => KEYS.record(id)));
      for (const e of entries) if (e.value !== null) yield strip(e.value);
    };
    for await (const entry of kvList<string>(this.#kv, { prefix: KEYS.byTimePrefix() })) {
      batch.push(entry.value);
      if (batch.length === 10) {
        yield* load(this.#kv, batch);
        batch = [];
      }
    }
    yield* load(this.#kv, batch);
  }

  /** Every record in id order, straight from the records (long texts not put back together). */
  async *scanRecords(): AsyncGenerator<ScannedRecord> {
    for await (const entry of kvList<StoredRecord>(this.#kv, { prefix: KEYS.records() })) {
      yield {
        record: strip(entry.value),
        versionstamp: entry.versionstamp,
        folder: entry.value.folder ?? null,
      };
    }
  }

  /**
   * Makes a record that names no folder name this catalog's folder (a shared catalog claiming a
   * record written before records named their folder, once its bytes are found here). True when
   * this call changed it.
   */
  async claimForFolder(id: string, versionstamp: string): Promise<boolean> {
    if (this.#folder === null) return false;
    const entry = await kvGet<StoredRecord>(this.#kv, KEYS.record(id));
    if (entry.value === null || entry.versionstamp !== versionstamp || entry.value.folder) {
      return false;
    }
    const stored: StoredRecord = { ...entry.value, folder: this.#folder };
    const result = await kvCommit(
      this.#kv,
      (op) => op.check({ key: KEYS.record(id), versionstamp }).set(KEYS.record(id), stored),
    );
    return result.ok;
  }

  /** The counters (count, bytes, sum of creation times). */
  async counters(): Promise<CatalogCounters> {
    const [count, bytes, createdSum] = await kvGetMany<Deno.KvU64>(this.#kv, [
      KEYS.counter("count"),
      KEYS.counter("bytes"),
      KEYS.counter("created_sum"),
    ]);
    const num = (e: Deno.KvEntryMaybe<Deno.KvU64>) => Number(e.value?.value ?? 0n);
    return { count: num(count), bytes: num(bytes), createdSum: num(createdSum) };
  }

  /** Statistics in the predecessor's shape, from the counters and the ends of the time index. */
  async stats(now: number = this.#now()): Promise<ImageStats> {
    const counters = await this.counters();
    const end = async (reverse: boolean): Promise<FileSummary | null> => {
      for await (
        const entry of kvList<string>(this.#kv, { prefix: KEYS.byTimePrefix() }, {
          reverse,
          limit: 1,
        })
      ) {
        const record = await this.get(entry.value);
        if (record === null) return null;
        return {
          name: record.fileName,
          id: record.id,
          created: new Date(record.created).toISOString(),
          size: record.bytes,
          age: Math.max(0, now - record.created),
        };
      }
      return null;
    };
    const count = counters.count;
    const averageAge = count === 0 ? 0 : Math.max(0, Math.round(now - counters.createdSum / count));
    const averageSize = count === 0 ? 0 : Math.round(counters.bytes / count);
    return {
      count,
      totalSize: counters.bytes,
      totalSizeFormatted: formatBytesExact(counters.bytes),
      oldestFile: await end(false),
      newestFile: await end(true),
      averageAge,
      averageAgeFormatted: formatDuration(averageAge),
      averageSize,
      averageSizeFormatted: formatBytesExact(averageSize),
    };
  }

  /**
   * Starts a job in state `pending` (or `running`, see {@link NewJob.state}). Throws a `conflict`
   * error when `jobId` exists. `also` adds mutations to the same atomic commit (keys of the KV
   * that holds jobs). Returns the job with the versionstamp of its commit (for
   * {@link updateJob}'s `known`).
   */
  async createJob(
    jobId: string,
    input: NewJob,
    also?: (op: Deno.AtomicOperation) => void,
  ): Promise<KnownJob> {
    if (!isJobId(jobId)) {
      throw new ValidationError("jobId", "Invalid jobId: expected a UUIDv7");
    }
    checkKeyText("model", input.model, false);
    checkKeyText("creator", input.creator ?? null, true);
    if (!DOORS.includes(input.door)) {
      throw new ValidationError("door", `Invalid door: ${JSON.stringify(input.door)}`);
    }
    const imageIds = input.imageIds ?? [];
    for (const id of imageIds) {
      if (!isImageId(id)) throw new ValidationError("imageIds", "Invalid imageIds: expected ids");
    }
    if (input.state !== undefined && input.state !== "pending" && input.state !== "running") {
      throw new ValidationError("state", `Invalid state: ${JSON.stringify(input.state)}`);
    }
    const now = this.#now();
    const job: JobRecord = {
      jobId,
      state: input.state ?? "pending",
      prompt: input.prompt.slice(0, JOB_PROMPT_MAX_CHARS),
      promptTruncated: input.prompt.length > JOB_PROMPT_MAX_CHARS,
      model: input.model,
      creator: input.creator ?? null,
      door: input.door,
      imageIds,
      error: null,
      created: now,
      updated: now,
      ...(input.instance ? { instance: input.instance } : {}),
    };
    const result = await kvCommit(this.#jobsKv, (op) => {
      op.check({ key: KEYS.job(jobId), versionstamp: null })
        .set(KEYS.job(jobId), job, { expireIn: JOB_RETENTION_MS });
      for (const id of imageIds) {
        op.set(KEYS.jobByImage(id), jobId, { expireIn: JOB_RETENTION_MS });
      }
      also?.(op);
    });
    if (!result.ok) throw new AppError("conflict", `Cannot create job: ${jobId} already exists`);
    return { job, versionstamp: result.versionstamp };
  }

  /**
   * Moves a job to a new state. A finished job (succeeded, failed, cancelled) stays as it is:
   * updating it throws a `conflict` error. Returns null when the job does not exist. `also` adds
   * mutations to the same atomic commit (made only when the update is). `known` is the job as the
   * caller last wrote it: the first attempt commits against it without reading the job, and only
   * when the job changed since (its versionstamp check fails) is it read.
   */
  async updateJob(
    jobId: string,
    update: JobUpdate,
    also?: (op: Deno.AtomicOperation) => void,
    known?: KnownJob,
  ): Promise<JobRecord | null> {
    if (!isJobId(jobId)) return null;
    if (!JOB_STATES.includes(update.state)) {
      throw new ValidationError("state", `Invalid state: ${JSON.stringify(update.state)}`);
    }
    let assumed = known?.job.jobId === jobId ? known : undefined;
    for (;;) {
      const entry = assumed
        ? { value: assumed.job, versionstamp: assumed.versionstamp }
        : await kvGet<JobRecord>(this.#jobsKv, KEYS.job(jobId));
      assumed = undefined;
      const job = entry.value;
      if (job === null) return null;
      if (TERMINAL_JOB_STATES.includes(job.state)) {
        throw new AppError(
          "conflict",
          `Cannot update job: ${jobId} has already ${
            job.state === "cancelled" ? "been cancelled" : job.state
          }`,
        );
      }
      const imageIds = update.imageIds ?? job.imageIds;
      const next: JobRecord = {
        ...job,
        state: update.state,
        imageIds,
        error: update.state === "failed"
          ? (update.error ?? { kind: "internal", message: "Unknown error" })
          : null,
        updated: this.#now(),
      };
      const result = await kvCommit(this.#jobsKv, (op) => {
        op.check({ key: KEYS.job(jobId), versionstamp: entry.versionstamp })
          .set(KEYS.job(jobId), next, { expireIn: JOB_RETENTION_MS });
        for (const id of imageIds) {
          if (!job.imageIds.includes(id)) {
            op.set(KEYS.jobByImage(id), jobId, { expireIn: JOB_RETENTION_MS });
          }
        }
        also?.(op);
      });
      if (result.ok) return next;
    }
  }

  /** The job `jobId`, or null. */
  async getJob(jobId: string): Promise<JobRecord | null> {
    if (!isJobId(jobId)) return null;
    return (await kvGet<JobRecord>(this.#jobsKv, KEYS.job(jobId))).value;
  }

  /** The job that reserved or produced image `imageId`, or null. */
  async getJobByImageId(imageId: string): Promise<JobRecord | null> {
    if (!isImageId(imageId)) return null;
    const entry = await kvGet<string>(this.#jobsKv, KEYS.jobByImage(imageId));
    return entry.value === null ? null : await this.getJob(entry.value);
  }

  async #assemble(stored: StoredRecord): Promise<CatalogRecord> {
    const record = strip(stored);
    for (const [field, info] of Object.entries(stored.text ?? {})) {
      const { parts, chars } = info as TextPartsInfo;
      const keys = Array.from(
        { length: parts },
        (_, n) => KEYS.text(stored.id, field as TextField, n),
      );
      const entries = await kvGetMany<string>(this.#kv, keys);
      const text = entries.map((e) => e.value ?? "").join("");
      if (entries.some((e) => e.value === null) || text.length !== chars) {
        throw new AppError("storage", `Cannot read image record: text part missing: ${stored.id}`);
      }
      record[field as TextField] = text;
    }
    return record;
  }
}

function matchesText(record: CatalogRecord, needle: string): boolean {
  return record.prompt.toLowerCase().includes(needle) ||
    (record.revisedPrompt?.toLowerCase().includes(needle) ?? false);
}
