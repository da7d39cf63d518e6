/**
 * The store's private folder inside `OUTPUT_DIR`: `.openai-image-gen/`. `OUTPUT_DIR` may be a
 * folder people keep other pictures in, so everything the store needs besides its final image files
 * lives in this one hidden folder, which `/images/*` never serves and reconcile never reports:
 *
 * ```
 * OUTPUT_DIR/<id>.<ext>, image_<ms>.png      final image files (the only files at the top level)
 * OUTPUT_DIR/.openai-image-gen/README.txt     says what the folder is
 *                              catalog.sqlite3 the image catalog (unless KV_PATH/KV_URL is set)
 *                              tmp/            temporary files of writes in progress
 *                              thumbs/         thumbnails
 *                              records/<id>.json  one record per image: proof the store wrote
 *                                              `<id>.<ext>`, and what a lost catalog is rebuilt from
 * ```
 *
 * Temporary files are renamed into `OUTPUT_DIR` on commit: the private folder is inside it, so the
 * rename stays on one file system and atomic.
 *
 * @module
 */

import { join, resolve } from "node:path";
import type { Config } from "../config.ts";

/** Name of the private folder inside `OUTPUT_DIR`. */
export const PRIVATE_DIR_NAME = ".openai-image-gen";
/** File name of the folder's own catalog (a Deno KV SQLite file). */
export const CATALOG_FILE_NAME = "catalog.sqlite3";

const README = `This folder belongs to openai-image-gen-mcp.

It holds the catalog of the images the service stored in the folder above, their thumbnails and
record files, and temporary files of writes in progress. The service never touches any other file
in the folder above. Deleting this folder loses the thumbnails; the catalog is rebuilt from the
record files, so keep records/ if you can.
`;

/** Paths of one image folder and its private folder. */
export interface StoreFolder {
  /** `OUTPUT_DIR`, absolute. */
  readonly root: string;
  /** The private folder. */
  readonly private: string;
  /** Temporary files. */
  readonly tmp: string;
  /** Thumbnails. */
  readonly thumbs: string;
  /** Record files (`<id>.json`). */
  readonly records: string;
  /** The folder's catalog file. */
  readonly catalog: string;
  /** The README that says what the private folder is. */
  readonly readme: string;
}

/** The paths of the folder `outputDir`; does no I/O. */
export function storeFolder(outputDir: string): StoreFolder {
  const root = resolve(outputDir);
  const own = join(root, PRIVATE_DIR_NAME);
  return Object.freeze({
    root,
    private: own,
    tmp: join(own, "tmp"),
    thumbs: join(own, "thumbs"),
    records: join(own, "records"),
    catalog: join(own, CATALOG_FILE_NAME),
    readme: join(own, "README.txt"),
  });
}

/** Creates the folder, its private folder and the README when missing. */
export async function ensureStoreFolder(folder: StoreFolder): Promise<void> {
  for (const dir of [folder.tmp, folder.thumbs, folder.records]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  try {
    await Deno.writeTextFile(folder.readme, README, { createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/**
 * Where the image catalog lives: the folder's own `catalog.sqlite3` (the default, so every
 * process on one `OUTPUT_DIR` sees the same images whatever its `DATA_DIR`), or null for the
 * configured KV — when `KV_PATH`/`KV_URL` was set explicitly (a shared catalog whose records name
 * their folder), or when the bytes themselves live in KV (`IMAGE_STORE=kv`).
 */
export function folderCatalogPath(
  config: Pick<Config, "imageStore" | "outputDir" | "kvExplicit">,
): string | null {
  if (config.imageStore === "kv" || config.kvExplicit) return null;
  return storeFolder(config.outputDir).catalog;
}
