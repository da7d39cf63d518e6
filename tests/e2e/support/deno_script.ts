/**
 * A script run in a child Deno process: for what a test process cannot show about itself (which
 * permissions a module needs, what a process writes to stdout).
 *
 * @module
 */

/** What a child process left behind. */
export interface ScriptOutput {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** Runs `script` (TypeScript on stdin) as `deno run <args> -` from the repository root. */
export async function runDenoScript(
  script: string,
  args: readonly string[],
): Promise<ScriptOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...args, "-"],
    cwd: new URL("../../../", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
