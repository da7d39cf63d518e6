/**
 * CPU time a process has used so far, from /proc/<pid>/stat (Linux), and other /proc files, read
 * with `cat` because Deno lets only `--allow-all` read /proc itself.
 *
 * @module
 */

async function output(command: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(command, { args, stderr: "null" }).output();
  if (!result.success) throw new Error(`Cannot run ${command} ${args.join(" ")}`);
  return new TextDecoder().decode(result.stdout);
}

/** The text of a file under /proc (Linux), read with `cat`; null where it cannot be read. */
export async function procText(path: string): Promise<string | null> {
  try {
    return await output("cat", [path]);
  } catch {
    return null;
  }
}

let ticksPerSecond: Promise<number> | undefined;

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 when unknown). */
export function clockTicksPerSecond(): Promise<number> {
  ticksPerSecond ??= output("getconf", ["CLK_TCK"]).then((text) => Number(text.trim()) || 100)
    .catch(() => 100);
  return ticksPerSecond;
}

/** User + system CPU seconds of every thread of `pid`; null where /proc cannot be read. */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await output("cat", [`/proc/${pid}/stat`]);
    // Fields after the command name (which may hold spaces) start at field 3, "state";
    // utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / await clockTicksPerSecond() : null;
  } catch {
    return null;
  }
}
