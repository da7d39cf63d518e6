/**
 * Turns command-line flags into setting overrides: every setting has a flag named after it
 * (`--output-dir`, `--port`), shared by all entrypoints.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { flagName, SETTING_NAMES } from "./config.ts";

/** Flag definitions for every setting (all take a string value). */
export function settingFlagOptions(): ParseArgsOptionsConfig {
  const options: ParseArgsOptionsConfig = {};
  for (const name of SETTING_NAMES) options[flagName(name)] = { type: "string" };
  return options;
}

/** Maps parsed flag values back to setting names. */
export function settingOverrides(values: Record<string, unknown>): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const value = values[flagName(name)];
    if (typeof value === "string") overrides[name] = value;
  }
  return overrides;
}

/** Result of {@link parseEntrypointArgs}. */
export interface EntrypointArgs {
  /** Setting overrides from flags. */
  overrides: Record<string, string>;
  /** `--help` was given. */
  help: boolean;
  /** `--version` was given. */
  version: boolean;
}

/** Parses the flags of a server entrypoint (settings + --help + --version); throws on unknown flags. */
export function parseEntrypointArgs(args: string[]): EntrypointArgs {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      ...settingFlagOptions(),
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "V" },
    },
  });
  return {
    overrides: settingOverrides(values),
    help: values.help === true,
    version: values.version === true,
  };
}
