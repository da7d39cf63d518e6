/**
 * A person's own files in an images folder, as someone who points `OUTPUT_DIR` at their Pictures
 * folder has them: photos, a note, and files whose names look like the store's own naming scheme
 * but that it never wrote. All two hours old, so an age-based sweep would take them.
 *
 * @module
 */
import { join } from "node:path";
import { newImageId } from "../../src/images/ids.ts";
import { type FileState, snapshotFiles } from "../unit/fixtures/image_store_fixture.ts";

const TWO_HOURS_MS = 2 * 3_600_000;

/** Writes the person's files into `dir` (created when missing); returns their names. */
export async function writePersonalFiles(dir: string): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const lookalike = newImageId(Date.now() - TWO_HOURS_MS);
  const files: Record<string, Uint8Array> = {
    "my-holiday-photo.png": pngBytes(1),
    "beach.jpg": new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 9]),
    "sunset.webp": new TextEncoder().encode("RIFF\x10\x00\x00\x00WEBPVP8 a sunset"),
    "notes.txt": new TextEncoder().encode("Remember the sunscreen.\n"),
    // Names of the store's own scheme that it never wrote:
    [`${lookalike}.png`]: pngBytes(2),
    [`.${newImageId(Date.now() - TWO_HOURS_MS)}.png.tmp`]: pngBytes(3),
    [`${newImageId(Date.now() - TWO_HOURS_MS)}.thumb.webp`]: new TextEncoder().encode("RIFF"),
  };
  const then = new Date(Date.now() - TWO_HOURS_MS);
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(dir, name);
    await Deno.writeFile(path, bytes);
    await Deno.utime(path, then, then);
  }
  return Object.keys(files).sort();
}

function pngBytes(seed: number): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  bytes.fill(seed, 8);
  return bytes;
}

/** SHA-256 and mtime of each of `names` in `dir` (a missing file throws). */
export async function personalState(
  dir: string,
  names: readonly string[],
): Promise<Record<string, FileState>> {
  const all = await snapshotFiles(dir);
  const out: Record<string, FileState> = {};
  for (const name of names) {
    if (!(name in all)) throw new Error(`${name} is gone from ${dir}`);
    out[name] = all[name];
  }
  return out;
}
