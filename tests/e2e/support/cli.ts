/**
 * Runs the real CLI entrypoint the way users and the compiled binary do: `deno run -P=cli
 * src/main_cli.ts …` in its own process, with a clean environment pointing at a temporary data
 * directory (and, when given, a fake upstream).
 *
 * @module
 */
import { ROOT } from "./mcp_client.ts";

/** Path of the CLI entrypoint. */
export const MAIN_CLI = new URL("../../../src/main_cli.ts", import.meta.url).pathname;

/** The permission set the CLI runs under here, and is compiled with. */
export const CLI_PERMISSION_SET = "cli";

/** What one CLI run did. */
export interface CliRun {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Data directory (DATA_DIR, HOME and working directory unless `cwd` is given). */
  dataDir: string;
  /** Extra environment variables (an empty string unsets a setting). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Longest wait for the process, in milliseconds (default 60,000). */
  timeoutMs?: number;
  /** `run` (default): `deno run -P=cli src/main_cli.ts`; `task`: `deno task cli` as users type it. */
  via?: "run" | "task";
}

/** How the CLI names itself in usage lines when started by {@link cliCommand}. */
export const CLI_RUN_NAME = `deno run -P=cli ${MAIN_CLI}`;

/** The command line that runs the CLI with `args`, as an argument vector. */
export function cliCommand(args: readonly string[], via: "run" | "task" = "run"): string[] {
  if (via === "task") {
    return [Deno.execPath(), "task", "--quiet", "--config", `${ROOT}deno.json`, "cli", ...args];
  }
  return [
    Deno.execPath(),
    "run",
    `-P=${CLI_PERMISSION_SET}`,
    "--config",
    `${ROOT}deno.json`,
    MAIN_CLI,
    ...args,
  ];
}

/** The environment every CLI run gets (the developer's own settings never leak in). */
export function cliEnv(dataDir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    DENO_NO_UPDATE_CHECK: "1",
    HOME: dataDir,
    DATA_DIR: dataDir,
    NO_COLOR: "1",
    ...env,
  };
}

/** Runs the CLI to completion; throws when it does not exit within the timeout. */
export async function runCli(args: readonly string[], options: RunCliOptions): Promise<CliRun> {
  const [program, ...rest] = cliCommand(args, options.via);
  const child = new Deno.Command(program, {
    args: rest,
    cwd: options.cwd ?? options.dataDir,
    clearEnv: true,
    env: cliEnv(options.dataDir, options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const output = await child.output();
    if (timedOut) {
      throw new Error(`The CLI did not exit within ${timeoutMs} ms: ${args.join(" ")}`);
    }
    return {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Parses a run's stdout as JSON, with the run in the message when it is not JSON. */
export function stdoutJson<T = Record<string, unknown>>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not JSON (exit ${run.code}):\n${run.stdout}\n--- stderr ---\n${run.stderr}`,
    );
  }
}

/** A temporary data directory, removed on dispose. */
export async function tempDataDir(
  prefix = "cli-e2e-",
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** A word quoted for a POSIX shell. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./=:@+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
