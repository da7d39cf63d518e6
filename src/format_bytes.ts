/**
 * Byte counts for people, with at most one decimal (`1.2 MB`): the form the MCP results and the
 * gallery pages share, so it lives below both doors.
 *
 * @module
 */

/** Formats a byte count for people: `1.2 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
