/**
 * The shape of a CLI command (words, options, positionals, help) and the help text rendered from
 * it, so every command documents exactly the options it accepts.
 *
 * @module
 */
import { PRODUCT_NAME } from "./program.ts";
import type { OptionName, ParsedArgs } from "./args.ts";
import type { CliSession } from "./context.ts";
import { renderExitCodes } from "./exit_codes.ts";

/** One documented option of a command. */
export interface OptionDoc {
  /** The option's long name. */
  readonly name: OptionName;
  /** How it is written, e.g. `-m, --model MODEL`. */
  readonly synopsis: string;
  /** What it does. */
  readonly text: string;
}

/** A command of the CLI. */
export interface Command {
  /** The words that select it, e.g. `["images", "list"]`. */
  readonly path: readonly string[];
  /** Positional arguments in the usage line, e.g. `<prompt>`. */
  readonly args: string;
  /** One line for the command list. */
  readonly summary: string;
  /** More help text (paragraphs), if any. */
  readonly details?: string;
  /** The options it accepts besides the global ones and the setting flags. */
  readonly options: readonly OptionDoc[];
  /** How many positional arguments it takes. */
  readonly positionals: { readonly min: number; readonly max: number };
  /** For the predecessor's commands: the command it stands for. */
  readonly aliasOf?: string;
  /** Runs the command; resolves to the exit code. */
  run(session: CliSession, args: ParsedArgs): Promise<number>;
}

/** The usage line of `command`, started with `program` (the CLI as the user typed it). */
export function usageLine(command: Command, program: string = PRODUCT_NAME): string {
  const words = [program, ...command.path];
  if (command.args) words.push(command.args);
  if (command.options.length > 0) words.push("[options]");
  return words.join(" ");
}

/** The full `--help` text of `command`. */
export function commandHelp(command: Command, program: string = PRODUCT_NAME): string {
  const lines = [`Usage: ${usageLine(command, program)}`, "", command.summary];
  if (command.aliasOf) {
    lines.push(`The predecessor's command, kept as an alias of \`${command.aliasOf}\`.`);
  }
  if (command.details) {
    for (const paragraph of command.details.trim().split(/\n\s*\n/)) {
      lines.push("", ...wrap(paragraph, 100));
    }
  }
  const rows: [string, string][] = command.options.map((o) => [o.synopsis, o.text]);
  rows.push(
    ["--json", "Print a JSON document on stdout (for scripts)"],
    ["-h, --help", "Show this help"],
    ["--<setting> VALUE", "Any setting of the configuration table, e.g. --output-dir DIR"],
  );
  const width = Math.max(...rows.map(([left]) => left.length));
  lines.push("", "Options:");
  for (const [left, text] of rows) lines.push(`  ${left.padEnd(width)}  ${text}`);
  lines.push("", "Exit codes [error kinds]:", renderExitCodes());
  return lines.join("\n") + "\n";
}

/** Breaks `text` into lines of at most `width` characters at spaces. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") out.push(line);
  return out;
}
