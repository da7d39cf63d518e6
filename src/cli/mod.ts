/**
 * The CLI: its commands, how it names itself, and the process's streams. `src/main_cli.ts` runs
 * it. The exit codes have a light module of their own, `exit_codes.ts`, for the server
 * entrypoints.
 *
 * @module
 */
export { type CliIo, processIo } from "./io.ts";
export { currentInvocation, type Invocation, programName } from "./program.ts";
export { runCli, type RunCliOptions } from "./run.ts";
export { EXIT_CODES, EXIT_CONFIG, EXIT_USAGE } from "./exit_codes.ts";
