/**
 * The machine a bench run measured: CPU model and cores, memory, OS, runtime versions and the
 * load average when the run started (a busy machine skews every figure).
 *
 * @module
 */

/** A description of the machine, as measured at the start of a run. */
export interface Machine {
  /** CPU model name, e.g. `AMD EPYC 7B13`. */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** Total memory in bytes. */
  memoryBytes: number;
  /** Operating system, e.g. `Ubuntu 24.04 LTS (Linux 6.8.0, x86_64)`. */
  os: string;
  /** Deno version. */
  deno: string;
  /** Node.js version, or null when `node` is not on PATH. */
  node: string | null;
  /** 1, 5 and 15 minute load averages at the start. */
  loadAverage: [number, number, number];
}

/** A file's text via `cat` (Deno lets only `--allow-all` read /proc), "" when unreadable. */
async function readText(path: string): Promise<string> {
  try {
    const out = await new Deno.Command("cat", { args: [path], stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

async function nodeVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("node", { args: ["--version"], stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim().replace(/^v/, "") : null;
  } catch {
    return null;
  }
}

/** Describes this machine now. */
export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await readText("/proc/cpuinfo");
  const osRelease = await readText("/etc/os-release");
  const distro = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1];
  const kernel = `${Deno.build.os === "linux" ? "Linux" : Deno.build.os} ${Deno.osRelease()}`;
  const [one, five, fifteen] = Deno.loadavg();
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? Deno.build.arch,
    cores: navigator.hardwareConcurrency,
    memoryBytes: Deno.systemMemoryInfo().total,
    os: `${distro ? `${distro} (${kernel}, ${Deno.build.arch})` : `${kernel} ${Deno.build.arch}`}`,
    deno: Deno.version.deno,
    node: await nodeVersion(),
    loadAverage: [one, five, fifteen],
  };
}
