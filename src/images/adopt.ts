/**
 * Adoption of the predecessor's folder: files named `image_<milliseconds>.png` in `OUTPUT_DIR`
 * are catalogued (prompt unknown, door `adopted`, created from the milliseconds in the name) and
 * keep their names, so `/images/image_<ms>.png` URLs keep working through the catalog's file-name
 * index. The files are only read: never moved or rewritten. Idempotent and safe in several processes at once: the file-name index is checked in the
 * same atomic operation that inserts the record.
 *
 * @module
 */

import { AppError } from "../errors.ts";
import { buildRecord } from "./catalog.ts";
import { sniffImage } from "./codec.ts";
import type { FsImageStore } from "./fs_store.ts";
import { classifyFileName, newImageId, sha256Hex } from "./ids.ts";

/** Model recorded for adopted files (the predecessor did not keep it). */
export const ADOPTED_MODEL = "unknown";

/** Options of {@link adoptPredecessorFiles}. */
export interface AdoptOptions {
  /** `performance.now()` value after which to stop (the rest is adopted next start). */
  deadline?: number;
  /** Reads format and size from image bytes (default: the codec's header sniffer). */
  sniff?: (bytes: Uint8Array) => { mime: string; width: number; height: number } | null;
}

/** What adoption did. */
export interface AdoptReport {
  /** File names adopted by this run. */
  adopted: string[];
  /** Predecessor files already in the catalog. */
  alreadyCatalogued: number;
  /** Problems met (adoption goes on after each). */
  errors: { file: string; error: string }[];
  /** True when the deadline stopped the work early. */
  truncated: boolean;
}

/** Catalogues the predecessor's `image_<ms>.png` files found in the store's directory. */
export async function adoptPredecessorFiles(
  store: FsImageStore,
  options: AdoptOptions = {},
): Promise<AdoptReport> {
  const report: AdoptReport = { adopted: [], alreadyCatalogued: 0, errors: [], truncated: false };
  const sniff = options.sniff ?? sniffImage;
  for await (const file of store.listFiles()) {
    if (file.kind !== "legacy" || !file.isFile) continue;
    if (options.deadline !== undefined && performance.now() > options.deadline) {
      report.truncated = true;
      break;
    }
    try {
      if ((await store.catalog.getByFileName(file.name)) !== null) {
        report.alreadyCatalogued++;
        continue;
      }
      const named = classifyFileName(file.name);
      if (named.kind !== "legacy") continue;
      const bytes = await store.readNamedFile(file.name);
      if (bytes === null || bytes.length === 0) continue;
      const info = sniff(bytes);
      const created = named.created < 2 ** 48 ? named.created : (file.mtime ?? 0);
      const record = buildRecord({
        prompt: "",
        model: ADOPTED_MODEL,
        door: "adopted",
        parameters: { adoptedFrom: file.name },
      }, {
        id: newImageId(created),
        fileName: file.name,
        mime: info?.mime ?? "image/png",
        width: info?.width ?? 0,
        height: info?.height ?? 0,
        bytes: bytes.length,
        sha256: await sha256Hex(bytes),
        created,
      });
      await store.insertRecord(record);
      report.adopted.push(file.name);
    } catch (error) {
      if (error instanceof AppError && error.kind === "conflict") {
        report.alreadyCatalogued++; // another process adopted it first
        continue;
      }
      report.errors.push({
        file: file.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return report;
}
