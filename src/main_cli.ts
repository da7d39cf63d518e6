/**
 * The CLI — generate and edit images from a terminal, manage the image store and API keys, check
 * the configuration. Thin on purpose: the commands live in `src/cli/`. It never registers a cron
 * and closes KV before exiting, so it returns as soon as the command is done.
 *
 * @module
 */
import { currentInvocation, processIo, programName, runCli } from "./cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, processIo(), { program: programName(currentInvocation()) }));
}
