/**
 * The start every server entrypoint shares: flags → `--help`/`--version` → settings → logging.
 *
 * @module
 */
import { parseEntrypointArgs } from "./cli_flags.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { getLog, type LoggingHandle, setupLogging } from "./log.ts";
import { SERVER_NAME, VERSION } from "./version.ts";

/** A started entrypoint, or the exit code to end with. */
export type Started = { config: Config; logging: LoggingHandle } | { exitCode: number };

/**
 * Parses `args`; answers `--help`/`--version` (also when `infoOnly`) on stdout; resolves the
 * settings (every bad one reported at once on stderr) and sets up logging to stderr.
 */
export async function startEntrypoint(
  args: string[],
  options: { help: string; category: string; infoOnly?: boolean },
): Promise<Started> {
  let parsed;
  try {
    parsed = parseEntrypointArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${options.help}`);
    return { exitCode: 2 };
  }
  if (parsed.help || parsed.version || options.infoOnly) {
    // Not a protocol session: stdout is free for the answer.
    const text = parsed.version ? `${SERVER_NAME} ${VERSION}` : options.help;
    await Deno.stdout.write(new TextEncoder().encode(`${text.trimEnd()}\n`));
    return { exitCode: 0 };
  }
  let config;
  try {
    config = await loadConfig(parsed.overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${error.message}\nSee the configuration table in README.md.`);
      return { exitCode: 1 };
    }
    throw error;
  }
  const logging = await setupLogging(config);
  const log = getLog(options.category);
  for (const warning of config.warnings) log.warning(warning);
  return { config, logging };
}
