/**
 * The CLI dispatcher: finds the command in the arguments, parses its options strictly, runs it
 * with a {@link CliSession}, and turns every failure into a message on stderr (and a JSON error
 * document on stdout with `--json`) plus a documented exit code.
 *
 * @module
 */
import { ConfigError } from "../config.ts";
import { AppError, errorKindInfo } from "../errors.ts";
import { VERSION } from "../version.ts";
import { type OptionName, parseAnyArgs, parseCommandArgs, UsageError } from "./args.ts";
import { type Command, commandHelp, usageLine } from "./command.ts";
import { clientsListCommand, clientsRevokeCommand } from "./clients.ts";
import { configCheckCommand, validateConfigAlias } from "./config_check.ts";
import { CliSession } from "./context.ts";
import { EXIT_CONFIG, EXIT_USAGE, renderExitCodes } from "./exit_codes.ts";
import { editCommand, generateCommand } from "./generate.ts";
import {
  cleanupAlias,
  imagesCleanupCommand,
  imagesDeleteCommand,
  imagesImportCommand,
  imagesListCommand,
  imagesStatsCommand,
  listAlias,
  statsAlias,
} from "./images.ts";
import type { CliIo } from "./io.ts";
import { keysCreateCommand, keysListCommand, keysRevokeCommand, keysUsageCommand } from "./keys.ts";
import { modelsCommand } from "./models.ts";
import { printJson } from "./output.ts";
import { PRODUCT_NAME } from "./program.ts";

/** Every command, in help order; the predecessor's aliases last. */
export const COMMANDS: readonly Command[] = Object.freeze([
  generateCommand,
  editCommand,
  imagesListCommand,
  imagesStatsCommand,
  imagesCleanupCommand,
  imagesDeleteCommand,
  imagesImportCommand,
  keysCreateCommand,
  keysListCommand,
  keysRevokeCommand,
  keysUsageCommand,
  clientsListCommand,
  clientsRevokeCommand,
  modelsCommand,
  configCheckCommand,
  statsAlias,
  listAlias,
  cleanupAlias,
  validateConfigAlias,
]);

const GROUPS = new Set(COMMANDS.filter((c) => c.path.length > 1).map((c) => c.path[0]));

/** The top-level `--help` text, naming the CLI as `program`. */
export function topHelp(program: string = PRODUCT_NAME): string {
  const own = COMMANDS.filter((c) => !c.aliasOf);
  const aliases = COMMANDS.filter((c) => c.aliasOf);
  const left = (c: Command) => [...c.path, c.args].filter((w) => w !== "").join(" ");
  const width = Math.max(...COMMANDS.map((c) => left(c).length));
  const row = (c: Command, text: string) => `  ${left(c).padEnd(width)}  ${text}`;
  return [
    `${PRODUCT_NAME} ${VERSION} — OpenAI image generation from a terminal`,
    "",
    `Usage: ${program} <command> [options]`,
    "",
    "Commands:",
    ...own.map((c) => row(c, c.summary)),
    "",
    "The predecessor's commands (aliases):",
    ...aliases.map((c) => row(c, `= ${c.aliasOf}`)),
    "",
    "Global options:",
    "  --json             Print a JSON document on stdout (for scripts)",
    "  -h, --help         Help for a command: <command> --help",
    "  -V, --version      Print the version",
    "  --<setting> VALUE  Any setting of the configuration table (README.md), e.g.",
    "                     --output-dir DIR, --openai-api-key KEY, --log-level debug",
    "",
    "Results go to stdout; messages, warnings and progress go to stderr.",
    "",
    "Exit codes [error kinds]:",
    renderExitCodes(),
    "",
  ].join("\n");
}

function groupHelp(group: string, program: string): string {
  const commands = COMMANDS.filter((c) => c.path[0] === group && c.path.length > 1);
  return [
    `Usage: ${program} ${group} <${commands.map((c) => c.path[1]).join("|")}> [options]`,
    "",
    ...commands.map((c) => `  ${usageLine(c, program)}\n      ${c.summary}`),
    "",
  ].join("\n");
}

function findCommand(positionals: readonly string[]): Command | undefined {
  return COMMANDS.find((c) => c.path.every((word, i) => positionals[i] === word));
}

/** What a failure means for the caller: message, kind and exit code. */
export function describeFailure(
  error: unknown,
  program: string = PRODUCT_NAME,
): { code: number; kind: string; message: string; details?: Record<string, unknown> } {
  if (error instanceof UsageError) {
    return { code: EXIT_USAGE, kind: "usage", message: error.message };
  }
  if (error instanceof ConfigError) {
    return {
      code: EXIT_CONFIG,
      kind: "configuration",
      message:
        `${error.message}\nRun \`${program} config check\` and see the configuration table in README.md`,
      details: { problems: error.problems },
    };
  }
  if (error instanceof AppError) {
    return {
      code: errorKindInfo(error.kind).exitCode,
      kind: error.kind,
      message: error.message,
      details: {
        ...(error.field === undefined ? {} : { field: error.field }),
        ...(error.retryAfterSeconds === undefined
          ? {}
          : { retryAfterSeconds: error.retryAfterSeconds }),
      },
    };
  }
  if (error instanceof Deno.errors.NotCapable) {
    return {
      code: 1,
      kind: "permission",
      message: `Permission denied: ${error.message}`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 1, kind: "internal", message: `Unexpected error: ${message}` };
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** The CLI as the user typed it (see program.ts); default `openai-image-cli`. */
  program?: string;
}

/** Runs the CLI with `args`; resolves to the process exit code. Never throws. */
export async function runCli(
  args: readonly string[],
  io: CliIo,
  options: RunCliOptions = {},
): Promise<number> {
  const program = options.program ?? PRODUCT_NAME;
  const json = args.includes("--json");
  let session: CliSession | undefined;
  // Named in the usage hint of a failure: `<program> <command as typed> --help`. The words before
  // the first option name it even when the options cannot be parsed.
  const leading = args.findIndex((arg) => arg.startsWith("-"));
  let command = findCommand(leading < 0 ? args : args.slice(0, leading));
  try {
    const first = parseAnyArgs(args);
    if (first.values.version) {
      if (json) printJson(io, { version: VERSION });
      else io.out(`${PRODUCT_NAME} ${VERSION}\n`);
      return 0;
    }
    const { positionals } = first;
    if (positionals.length === 0) {
      if (first.values.help) {
        io.out(topHelp(program));
        return 0;
      }
      io.err(topHelp(program));
      return EXIT_USAGE;
    }
    command = findCommand(positionals);
    if (!command) {
      if (GROUPS.has(positionals[0]) && (positionals.length === 1 || first.values.help)) {
        if (first.values.help) {
          io.out(groupHelp(positionals[0], program));
          return 0;
        }
        io.err(groupHelp(positionals[0], program));
        return EXIT_USAGE;
      }
      const words = positionals.slice(0, GROUPS.has(positionals[0]) ? 2 : 1).join(" ");
      throw new UsageError(`Unknown command "${words}": run \`${program} --help\` for the list`);
    }
    const scope = command.path.join(" ");
    const parsed = parseCommandArgs(
      args,
      command.options.map((o) => o.name) as OptionName[],
      scope,
    );
    if (parsed.values.help) {
      io.out(commandHelp(command, program));
      return 0;
    }
    parsed.positionals = parsed.positionals.slice(command.path.length);
    const count = parsed.positionals.length;
    if (count < command.positionals.min || count > command.positionals.max) {
      const expected = command.args || "no arguments";
      throw new UsageError(
        `Wrong number of arguments for ${scope}: expected ${expected} (usage: ${
          usageLine(command, program)
        })`,
      );
    }
    session = new CliSession({ io, json, overrides: parsed.overrides });
    const code = await command.run(session, parsed);
    return code;
  } catch (error) {
    const failure = describeFailure(error, program);
    io.err(`error: ${failure.message}\n`);
    if (failure.kind === "usage" && !failure.message.includes("--help")) {
      const typed = command ? [program, ...command.path].join(" ") : program;
      io.err(`Run \`${typed} --help\` for usage\n`);
    }
    if (json) {
      printJson(io, {
        error: {
          kind: failure.kind,
          message: failure.message,
          exitCode: failure.code,
          ...failure.details,
        },
      });
    }
    return failure.code;
  } finally {
    await session?.close().catch(() => {});
  }
}
