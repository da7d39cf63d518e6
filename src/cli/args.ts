/**
 * Argument parsing for the CLI with `node:util` `parseArgs` in strict mode. Every option has one
 * definition in {@link OPTIONS}, so an option means the same thing (and takes a value or not) in
 * every command; every setting of the configuration table is accepted as a flag everywhere.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { settingFlagOptions, settingOverrides } from "../cli_flags.ts";
import { type RequestFlag, requestFlagOptions, type RequestSwitch } from "./request_flags.ts";

/** A command line the CLI cannot run as given (exit code 2). */
export class UsageError extends Error {
  /** Creates the error; `message` says what is wrong and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Every option any command takes besides the request flags (requestFlagOptions), by long name. */
export const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  json: { type: "boolean" },
  output: { type: "string", short: "o" },
  "dry-run": { type: "boolean" },
  "retention-days": { type: "string" },
  max: { type: "string" },
  "max-bytes": { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  sort: { type: "string" },
  all: { type: "boolean" },
  query: { type: "string" },
  name: { type: "string" },
  role: { type: "string" },
  month: { type: "string" },
  principal: { type: "string" },
  live: { type: "boolean" },
  "skip-api-check": { type: "boolean" },
} as const satisfies ParseArgsOptionsConfig;

/** Name of an option: one of {@link OPTIONS} or a request flag. */
export type OptionName = keyof typeof OPTIONS | RequestFlag;

/** Every option with its `parseArgs` definition. */
const ALL_OPTIONS: ParseArgsOptionsConfig = { ...requestFlagOptions(), ...OPTIONS };

/** Every option name. */
const OPTION_NAMES: readonly OptionName[] = Object.keys(ALL_OPTIONS).filter(isOptionName);

/** True when `name` is an option of some command. */
export function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(ALL_OPTIONS, name);
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: readonly OptionName[] = Object.freeze(["help", "version", "json"]);

/** Parsed option values, by long name. */
export type OptionValues = {
  [K in OptionName]?: K extends keyof typeof OPTIONS
    ? (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string
    : K extends RequestSwitch ? boolean
    : string;
};

/** A parsed command line. */
export interface ParsedArgs {
  /** Option values (only those given). */
  values: OptionValues;
  /** Words that are not options, in order. */
  positionals: string[];
  /** Setting overrides from `--<setting>` flags, keyed by setting name. */
  overrides: Record<string, string>;
}

function pick(names: readonly OptionName[]): ParseArgsOptionsConfig {
  const out: ParseArgsOptionsConfig = {};
  for (const name of names) out[name] = ALL_OPTIONS[name];
  return out;
}

function usageMessage(error: unknown, scope: string): string {
  const text = error instanceof Error ? error.message : String(error);
  // Node's messages carry advice about `--` after the first sentence; keep the first sentence.
  const first = text.split(/\.\s/)[0].replace(/\.$/, "");
  return scope ? `${first} (for ${scope})` : first;
}

/**
 * Parses `args` strictly with the global options, the setting flags and `names`; throws a
 * {@link UsageError} naming the offending option otherwise. `scope` names the command in errors.
 */
export function parseCommandArgs(
  args: readonly string[],
  names: readonly OptionName[],
  scope = "",
): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      options: { ...settingFlagOptions(), ...pick([...GLOBAL_OPTIONS, ...names]) },
    });
    return {
      values: values as OptionValues,
      positionals,
      overrides: settingOverrides(values),
    };
  } catch (error) {
    throw new UsageError(usageMessage(error, scope));
  }
}

/** Parses with every option of every command: finds the command words before the real parse. */
export function parseAnyArgs(args: readonly string[]): ParsedArgs {
  return parseCommandArgs(args, OPTION_NAMES);
}

/** Reads an integer option; undefined when absent. Throws {@link UsageError} when malformed. */
export function intOption(
  values: OptionValues,
  name: OptionName,
  range: { min?: number; max?: number } = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const value = Number(raw);
  if (!/^[+-]?\d+$/.test(raw.trim()) || value < min || value > max) {
    const accepted = range.min !== undefined && range.max !== undefined
      ? `an integer from ${min} to ${max}`
      : range.min !== undefined
      ? `an integer of at least ${min}`
      : "an integer";
    throw new UsageError(`Invalid --${name} ${JSON.stringify(raw)}: expected ${accepted}`);
  }
  return value;
}

/** Reads a decimal option; undefined when absent. Throws {@link UsageError} when malformed. */
export function numberOption(
  values: OptionValues,
  name: OptionName,
  range: { min?: number } = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const value = Number(raw);
  const min = range.min ?? -Infinity;
  if (raw.trim() === "" || !Number.isFinite(value) || value < min) {
    throw new UsageError(
      `Invalid --${name} ${JSON.stringify(raw)}: expected a number${
        range.min === undefined ? "" : ` of at least ${range.min}`
      }`,
    );
  }
  return value;
}

/** Reads an option that must be one of `choices`. */
export function choiceOption<const T extends string>(
  values: OptionValues,
  name: OptionName,
  choices: readonly T[],
): T | undefined {
  const raw = values[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(
      `Invalid --${name} ${JSON.stringify(raw)}: expected one of ${choices.join(", ")}`,
    );
  }
  return raw as T;
}
