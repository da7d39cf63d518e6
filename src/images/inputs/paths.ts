/**
 * File inputs: reading a path or `file://` URI the way the server's OS would, and only from inside
 * the allowed folders (`EDIT_ALLOWED_ROOTS`).
 *
 * The check runs twice: on the path as written (so a path outside every root is refused without
 * touching the file system, which would otherwise tell a caller which files exist), then on its
 * real path after symbolic links are resolved, against the real paths of the roots. Residual risk:
 * a process that can write inside a root could swap a checked file for a symbolic link between the
 * check and the open; such a process already controls what the root holds.
 *
 * `~` is not expanded: the server often runs as another user, in a container or on another
 * machine than the client whose home the caller means, so a guess could read the wrong file.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { formatSize, refusal } from "./refusal.ts";

/** The operating system whose path rules apply. */
export type PathOs = "windows" | "linux" | "darwin";

/** A file reference turned into an absolute path on the server. */
export interface LocalPath {
  /** Absolute path in the syntax of the server's OS. */
  path: string;
  /** True when the reference was relative and was resolved against the first root. */
  relative: boolean;
  /** How the reference was reinterpreted, for messages (e.g. a Windows path read as a WSL path). */
  note?: string;
  /** The reference with `file://` decoded and `\` turned into `/`, for sandbox detection. */
  written: string;
}

/** Options of {@link toLocalPath}. */
export interface ToLocalPathOptions {
  /** Path rules to apply. */
  os: PathOs;
  /** Absolute folder that relative paths are resolved against (the first allowed root). */
  base: string;
  /** Whether messages may name the server's folders (local callers only). Default true. */
  showServerPaths?: boolean;
}

/** How messages name the allowed folders: their paths for local callers, the setting for others. */
function allowedFolders(roots: readonly string[], show: boolean): string {
  return show ? roots.join(", ") : "set by EDIT_ALLOWED_ROOTS on the server";
}

const OS_NAMES: Readonly<Record<PathOs, string>> = {
  windows: "Windows",
  linux: "Linux",
  darwin: "macOS",
};

// Where chat clients keep files inside their own code sandbox: never this server's disk.
const SANDBOX_PATTERNS = [/^\/mnt\/user-data(\/|$)/, /^\/mnt\/data(\/|$)/, /^\/home\/claude(\/|$)/];

/** True when `written` (with `/` separators) is a path inside a chat client's own sandbox. */
export function isSandboxPath(written: string): boolean {
  return SANDBOX_PATTERNS.some((p) => p.test(written));
}

/** True when `ref` looks like a file reference rather than an id, URI or URL. */
export function looksLikeFileRef(ref: string): boolean {
  return /^file:/i.test(ref) || /^[A-Za-z]:/.test(ref) || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref);
}

function fileUriToRaw(ref: string, field: string): string {
  const fail = refusal(field, ref);
  let url: URL;
  let pathname: string;
  try {
    url = new URL(ref);
    pathname = decodeURIComponent(url.pathname);
  } catch {
    throw fail("bad_reference", "it is not a valid file:// URI");
  }
  const host = url.hostname.toLowerCase();
  if (host !== "" && host !== "localhost") {
    return `\\\\${url.hostname}${pathname.replaceAll("/", "\\")}`;
  }
  // `file:///C:/a`, and the old `file:///C|/a` spelling.
  return /^\/[A-Za-z][:|]/.test(pathname) ? `${pathname[1]}:${pathname.slice(3)}` : pathname;
}

/**
 * Turns a path or `file://` URI into an absolute path under the rules of `options.os`. Windows
 * forms (`C:\a`, `C:/a`, `\\server\share\a`, `file:///C:/a`, `\\?\C:\a`) are accepted on Windows;
 * on Linux a drive path is read as its WSL path (`/mnt/c/a`); `~` and drive-relative paths are
 * refused with an explanation. Does no I/O.
 */
export function toLocalPath(ref: string, field: string, options: ToLocalPathOptions): LocalPath {
  const fail = refusal(field, ref);
  const { os, base } = options;
  const where = options.showServerPaths === false
    ? "an EDIT_ALLOWED_ROOTS folder"
    : `${base} or another EDIT_ALLOWED_ROOTS entry`;
  let raw = /^file:/i.test(ref) ? fileUriToRaw(ref, field) : ref;
  if (raw.includes("\0")) {
    throw fail("bad_reference", "the path contains a NUL character");
  }
  if (/^\\\\\?\\UNC\\/i.test(raw)) raw = `\\\\${raw.slice(8)}`;
  else if (/^\\\\\?\\/.test(raw)) raw = raw.slice(4);
  const written = raw.replaceAll("\\", "/");
  if (raw.startsWith("~")) {
    throw fail(
      "home_path",
      `"~" is not expanded, because the server may run as another user or on another machine than you; pass the full path inside the allowed folders (${where})`,
    );
  }
  if (/^\\\\\.\\/.test(raw)) {
    throw fail("bad_reference", "Windows device paths cannot be read");
  }
  const drive = /^([A-Za-z]):(.*)$/s.exec(raw);
  if (drive && !/^[\\/]/.test(drive[2])) {
    throw fail(
      "bad_reference",
      `it is a drive-relative Windows path; write the full path, such as ${
        drive[1]
      }:\\folder\\image.png`,
    );
  }
  const unc = /^[\\/]{2}[^\\/]/.test(raw) && (os === "windows" || raw.startsWith("\\"));
  if (os === "windows") {
    return { path: win32.resolve(base, raw), relative: !win32.isAbsolute(raw), written };
  }
  if (drive && os === "linux") {
    const path = posix.normalize(`/mnt/${drive[1].toLowerCase()}${drive[2].replaceAll("\\", "/")}`);
    return {
      path,
      relative: false,
      note:
        `it is a Windows path and this server runs on Linux, so it was read as the WSL path ${path}`,
      written,
    };
  }
  if (drive || unc) {
    const kind = drive ? "a Windows path" : "a Windows network (UNC) path";
    throw fail(
      "foreign_path",
      `it is ${kind} and this server runs on ${
        OS_NAMES[os]
      }; pass a path on the server's machine inside the allowed folders (${where}), or an http(s) URL`,
    );
  }
  return { path: posix.resolve(base, raw), relative: !posix.isAbsolute(raw), written };
}

/** The path rules of the OS Deno runs on. */
export function hostPathOs(): PathOs {
  if (Deno.build.os === "windows") return "windows";
  return Deno.build.os === "darwin" ? "darwin" : "linux";
}

function comparable(path: string, os: PathOs): string {
  if (os !== "windows") return posix.resolve(path);
  let p = path;
  if (/^\\\\\?\\UNC\\/i.test(p)) p = `\\\\${p.slice(8)}`;
  else if (/^\\\\\?\\/.test(p)) p = p.slice(4);
  return win32.resolve(p).toLowerCase();
}

/**
 * True when absolute `child` is `root` or inside it, by path components (so `/data/images-evil`
 * is not inside `/data/images`); case-insensitive on Windows. Does no I/O.
 */
export function isInsideRoot(
  child: string,
  root: string,
  options: { os?: PathOs } = {},
): boolean {
  const os = options.os ?? hostPathOs();
  const p = os === "windows" ? win32 : posix;
  const rel = p.relative(comparable(root, os), comparable(child, os));
  if (rel === "") return true;
  if (p.isAbsolute(rel)) return false;
  return rel !== ".." && !rel.startsWith(`..${p.sep}`);
}

/** Options of {@link readFileInRoots}. */
export interface ReadFileInRootsOptions {
  /** Absolute folders files may be read from. */
  roots: readonly string[];
  /** Path rules to apply. */
  os: PathOs;
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Aborts the read. */
  signal?: AbortSignal;
  /** Whether messages may name the server's folders (local callers only). Default true. */
  showServerPaths?: boolean;
}

/** A file read from inside an allowed folder. */
export interface FileInRoots {
  /** The file's content. */
  bytes: Uint8Array;
  /** The file's base name. */
  name: string;
}

async function realPathOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.realPath(path);
  } catch {
    return null;
  }
}

const READ_CHUNK = 1024 * 1024;

/**
 * Reads the file that `ref` (a path or `file://` URI) names, provided its real path lies inside
 * one of `options.roots` (compared with the roots' real paths). Every refusal is a
 * `ValidationError` for `field` that names the problem and what is accepted.
 */
export async function readFileInRoots(
  ref: string,
  field: string,
  options: ReadFileInRootsOptions,
): Promise<FileInRoots> {
  const { roots, os, maxBytes, signal } = options;
  const fail = refusal(field, ref);
  if (roots.length === 0) {
    throw fail(
      "disabled",
      "file inputs are disabled because no folder is allowed; set EDIT_ALLOWED_ROOTS, or pass an image id or URL",
    );
  }
  const show = options.showServerPaths ?? true;
  const shownRoots = allowedFolders(roots, show);
  const local = toLocalPath(ref, field, { os, base: roots[0], showServerPaths: show });
  const sandbox = () =>
    fail(
      "sandbox_path",
      `it is a path inside the chat's own sandbox, and files uploaded to Claude (or created in its sandbox) are not visible to this server; save the image into an allowed folder (${shownRoots}) and pass that path, or pass an http(s) URL`,
    );
  const outside = (how: string) =>
    fail(
      "outside_roots",
      `${how} outside the allowed folders (${shownRoots}); set EDIT_ALLOWED_ROOTS to allow more`,
    );
  const realRoots = (await Promise.all(roots.map(realPathOrNull))).filter((r) => r !== null);
  const candidates = [...roots, ...realRoots];
  if (!candidates.some((root) => isInsideRoot(local.path, root, { os }))) {
    if (isSandboxPath(local.written)) throw sandbox();
    throw outside(local.note ? `${local.note}, which is` : "it is");
  }
  signal?.throwIfAborted();
  let real: string;
  try {
    real = await Deno.realPath(local.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      if (isSandboxPath(local.written)) throw sandbox();
      const base = show ? roots[0] : "the first EDIT_ALLOWED_ROOTS folder";
      const where = local.relative ? ` (relative paths are read from ${base})` : "";
      throw fail("missing", `no such file${where}${local.note ? `; ${local.note}` : ""}`);
    }
    throw fail("unreadable", "the server is not permitted to read it");
  }
  if (!realRoots.some((root) => isInsideRoot(real, root, { os }))) {
    throw outside("through a symbolic link it resolves to a location");
  }
  const info = await Deno.stat(real);
  if (!info.isFile) {
    throw fail("not_a_file", info.isDirectory ? "it is a folder, not a file" : "it is not a file");
  }
  const tooLarge = () =>
    fail(
      "too_large",
      `the file is larger than the ${formatSize(maxBytes)} limit for an edit input`,
    );
  if (info.size > maxBytes) throw tooLarge();
  const file = await Deno.open(real, { read: true });
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(Math.min(READ_CHUNK, maxBytes + 1));
    for (;;) {
      signal?.throwIfAborted();
      const n = await file.read(buffer);
      if (n === null) break;
      total += n;
      if (total > maxBytes) throw tooLarge();
      chunks.push(buffer.slice(0, n));
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return { bytes, name: (os === "windows" ? win32 : posix).basename(real) };
  } finally {
    file.close();
  }
}
