/**
 * Markdown for documentation generated from code (README settings, docs/authorization.md).
 *
 * @module
 */

/** Renders rows (the first is the header) as a Markdown table aligned the way `deno fmt` aligns it. */
export function markdownTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, col) => Math.max(3, ...rows.map((row) => row[col].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, col) => cell.padEnd(widths[col])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
}
