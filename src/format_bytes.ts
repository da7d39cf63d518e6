/**
 * Byte counts for people, in binary units, in one module below every door: short (`1.2 MB`, at
 * most one decimal) for MCP results and gallery pages, exact (`12.25 MB`, two decimals) for
 * statistics, reports and limits.
 *
 * @module
 */

/** Formats a byte count for people: `1.2 MB`, or with `exact` two decimals: `1.25 MB`. */
export function formatBytes(bytes: number, options: { exact?: boolean } = {}): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (options.exact) return `${Number(value.toFixed(2))} ${units[unit]}`;
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
