/**
 * Shapes of CLI output: JSON documents for scripts (`--json`) and aligned plain-text tables for
 * people.
 *
 * @module
 */
import type { CliIo } from "./io.ts";

/** Writes `value` as one pretty-printed JSON document followed by a newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Renders rows as a table with a header line; columns are padded to their widest cell. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, col) =>
    Math.max(h.length, ...rows.map((row) => (row[col] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, col) => col === cells.length - 1 ? cell : cell.padEnd(widths[col]))
      .join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** Shortens `text` to `max` characters with an ellipsis, on one line. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** An epoch-milliseconds time as `YYYY-MM-DD HH:MM` (UTC). */
export function shortTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}
