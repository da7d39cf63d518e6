/**
 * stdio start-up: spawn → `initialize` answered, for this server's stdio entries (every `deno.json`
 * task named `mcp` or `mcp:<name>` that is a single `deno run`), the predecessor's stdio server,
 * and the floors — spawn → exit of `deno run` and `node` on an empty file. Runs are interleaved
 * (one of each command per round) so a busy moment of the machine falls on all of them alike.
 *
 * @module
 */
import { initializeLine } from "../../tests/e2e/support/initialize.ts";

/** One command whose start is timed. */
export interface StartCommand {
  /** Row name. */
  readonly name: string;
  /** Executable and arguments. */
  readonly cmd: readonly string[];
  /** The command as the report shows it (default: `cmd` joined). */
  readonly label?: string;
  /** Working directory. */
  readonly cwd: string;
  /** The whole environment of the process. */
  readonly env: Record<string, string>;
  /** `initialize`: time until the answer to `initialize`; `exit`: time until the process ends. */
  readonly until: "initialize" | "exit";
}

/** Start times of one command. */
export interface StartFigures {
  /** Row name. */
  name: string;
  /** The command line, for the report. */
  command: string;
  /** Milliseconds of every timed run. */
  samples: number[];
  /** Why it could not be timed, if it could not. */
  error?: string;
}

const INITIALIZE = new TextEncoder().encode(initializeLine("bench"));

/** Reads `stream` until a line that is the JSON-RPC answer with id 1; false if it ended first. */
async function answered(stream: ReadableStream<Uint8Array>): Promise<boolean> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      // The predecessor writes log lines to stdout too: only a JSON-RPC answer counts.
      if (line.startsWith("{") && /"id"\s*:\s*1\b/.test(line) && /"result"/.test(line)) {
        return true;
      }
    }
  }
  return false;
}

/** Spawns `command` once; milliseconds until it answered `initialize` (or exited). */
export async function timeStart(command: StartCommand): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command(command.cmd[0], {
    args: command.cmd.slice(1),
    cwd: command.cwd,
    clearEnv: true,
    env: command.env,
    stdin: command.until === "initialize" ? "piped" : "null",
    stdout: command.until === "initialize" ? "piped" : "null",
    stderr: "null",
  }).spawn();
  if (command.until === "exit") {
    const status = await child.status;
    if (!status.success) throw new Error(`${command.name} exited with code ${status.code}`);
    return performance.now() - started;
  }
  const writer = child.stdin.getWriter();
  await writer.write(INITIALIZE);
  const ok = await answered(child.stdout);
  const elapsed = performance.now() - started;
  await writer.close().catch(() => {});
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await child.status;
  clearTimeout(timer);
  if (!ok) throw new Error(`${command.name} ended without answering initialize`);
  return elapsed;
}

/** Times every command `runs` times after `warmup` untimed runs, one of each per round. */
export async function measureStarts(
  commands: readonly StartCommand[],
  options: { runs: number; warmup: number },
): Promise<StartFigures[]> {
  const figures = commands.map((c): StartFigures => ({
    name: c.name,
    command: c.label ?? c.cmd.join(" "),
    samples: [],
  }));
  for (let round = 0; round < options.warmup + options.runs; round++) {
    for (const [k, command] of commands.entries()) {
      if (figures[k].error !== undefined) continue;
      try {
        const ms = await timeStart(command);
        if (round >= options.warmup) figures[k].samples.push(ms);
      } catch (error) {
        figures[k].error = (error as Error).message;
      }
    }
  }
  return figures;
}

/**
 * This server's stdio entries: every task of `tasks` named `mcp` or `mcp:<name>` whose command is
 * a single `deno run …` (no shell operators), as the argument list after `deno`.
 */
export function stdioEntryTasks(
  tasks: Record<string, unknown>,
): { name: string; args: string[] }[] {
  const found: { name: string; args: string[] }[] = [];
  for (const [name, value] of Object.entries(tasks)) {
    if (!/^mcp(:[\w-]+)?$/.test(name)) continue;
    const command = typeof value === "string" ? value : (value as { command?: unknown })?.command;
    if (typeof command !== "string" || /[;&|<>`$]/.test(command)) continue;
    const words = command.trim().split(/\s+/);
    if (words[0] !== "deno" || words[1] !== "run") continue;
    found.push({ name, args: words.slice(1) });
  }
  return found;
}
