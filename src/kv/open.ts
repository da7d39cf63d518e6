/**
 * Opening the configured Deno KV: `KV_URL` (KV Connect), `KV_PATH` (a local SQLite file, its folder
 * made on demand) or Deno Deploy's own — and the read-only variant dry runs use, which never creates
 * a file.
 *
 * @module
 */
import { dirname } from "node:path";
import type { Config } from "../config.ts";

/** Where a KV lives: the settings {@link openKv} reads. */
export type KvLocation = Partial<Pick<Config, "kvUrl" | "kvPath">>;

/** Opens the configured KV: `KV_URL` (KV Connect), `KV_PATH` (local file), or Deploy's own. */
export async function openKv(config: KvLocation): Promise<Deno.Kv> {
  if (config.kvUrl) return await Deno.openKv(config.kvUrl);
  if (config.kvPath && config.kvPath !== ":memory:") {
    await Deno.mkdir(dirname(config.kvPath), { recursive: true });
  }
  return await Deno.openKv(config.kvPath);
}

/**
 * Opens the configured KV for reading only: a local file that does not exist is not created (an
 * empty in-memory KV stands in for it).
 */
export async function openKvToRead(config: KvLocation): Promise<Deno.Kv> {
  if (config.kvUrl || config.kvPath === undefined || config.kvPath === ":memory:") {
    return await openKv(config);
  }
  return await Deno.openKv(await fileExists(config.kvPath) ? config.kvPath : ":memory:");
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
