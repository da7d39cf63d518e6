/**
 * CPU time from /proc (Linux): of a process, of each of its threads, and of the whole machine,
 * read with `cat` because Deno lets only `--allow-all` read /proc itself.
 *
 * @module
 */

async function output(command: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(command, { args, stderr: "null" }).output();
  if (!result.success) throw new Error(`Cannot run ${command} ${args.join(" ")}`);
  return new TextDecoder().decode(result.stdout);
}

let ticksPerSecond: Promise<number> | undefined;

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 when unknown). */
export function clockTicksPerSecond(): Promise<number> {
  ticksPerSecond ??= output("getconf", ["CLK_TCK"]).then((text) => Number(text.trim()) || 100)
    .catch(() => 100);
  return ticksPerSecond;
}

/** The name and user + system ticks of one `/proc/<pid>[/task/<tid>]/stat` line. */
function statTicks(line: string): { name: string; ticks: number } | null {
  const close = line.lastIndexOf(")");
  if (close < 0) return null;
  // Fields after the command name (which may hold spaces) start at field 3, "state";
  // utime and stime are fields 14 and 15.
  const fields = line.slice(close + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? { name: line.slice(line.indexOf("(") + 1, close), ticks } : null;
}

/** User + system CPU seconds of every thread of `pid`; null where /proc cannot be read. */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = statTicks(await output("cat", [`/proc/${pid}/stat`]));
    return stat === null ? null : stat.ticks / await clockTicksPerSecond();
  } catch {
    return null;
  }
}

/**
 * User + system CPU seconds of `pid`'s threads, summed per thread name with its trailing digits
 * dropped (`tokio-runtime-w`, `sw-`, …); empty where /proc cannot be read.
 */
export async function cpuSecondsByThread(pid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  const text = await output("sh", ["-c", `cat /proc/${pid}/task/*/stat`]).catch(() => "");
  const perSecond = await clockTicksPerSecond();
  for (const line of text.split("\n")) {
    const stat = statTicks(line);
    if (stat === null) continue;
    const name = stat.name.replace(/\d+$/, "");
    byName.set(name, (byName.get(name) ?? 0) + stat.ticks / perSecond);
  }
  return byName;
}

/** The machine's CPU time so far in ticks, by kind; null where /proc cannot be read. */
export async function machineCpuTicks(): Promise<
  { user: number; system: number; idle: number; iowait: number; steal: number } | null
> {
  const first = (await output("cat", ["/proc/stat"]).catch(() => "")).split("\n")[0];
  if (!first.startsWith("cpu ")) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = first.split(/\s+/).slice(1)
    .map(Number);
  return { user: user + nice, system: system + irq + softirq, idle, iowait, steal };
}
