/**
 * `deno task bench:profile`: where this service's CPU goes per saved image, under the bench's
 * gateway workload (the predecessor's REST request, `POST /mcp` with `save: true`, against the
 * bench's fake upstream). Prints the service's CPU per image by thread (the event loop `deno`,
 * the image hash worker, the blocking-I/O pool `tokio-runtime-w`, V8's garbage collector helpers,
 * SQLite's `sw-` threads of Deno KV), the machine's CPU split over the run (user, system, idle,
 * I/O wait, steal) and, with `--cpu-prof DIR`, the event loop's self time per image by module
 * from V8's CPU profile (written to DIR when the service stops).
 *
 * Flags: --requests 300 --concurrency 20 --warmup 20 --cpu-prof DIR --top 30. Linux only (reads
 * /proc). Figures vary with the machine: compare runs made side by side, never with a recorded
 * number.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { thisService } from "./bench/gateway.ts";
import { runLoad } from "./bench/load.ts";
import { clockTicksPerSecond, procText } from "./bench/process_cpu.ts";
import { startUpstream } from "./bench/upstream_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    requests: { type: "string", default: "300" },
    concurrency: { type: "string", default: "20" },
    warmup: { type: "string", default: "20" },
    "cpu-prof": { type: "string" },
    top: { type: "string", default: "30" },
  },
});

function count(name: "requests" | "concurrency" | "warmup" | "top"): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`--${name} must be a whole number of at least 1, got ${values[name]}`);
  }
  return value;
}

/** CPU ticks per thread name (digits at the end dropped: `tokio-runtime-w`, `sw-`). */
async function threadTicks(pid: number): Promise<Map<string, number>> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `cat /proc/${pid}/task/*/stat`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const ticks = new Map<string, number>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const close = line.lastIndexOf(")");
    if (close < 0) continue;
    const name = line.slice(line.indexOf("(") + 1, close).replace(/\d+$/, "");
    const fields = line.slice(close + 2).split(" ");
    ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

/** The machine's CPU ticks: user (with nice), system, idle, iowait, steal. */
async function machineTicks(): Promise<number[]> {
  const first = (await procText("/proc/stat"))?.split("\n")[0] ?? "";
  const [user, nice, system, idle, iowait, irq, softirq, steal] = first.split(/\s+/).slice(1)
    .map(Number);
  return [user + nice, system + irq + softirq, idle, iowait, steal];
}

/** Self time of a V8 CPU profile's samples, per module (npm package, extension, src file, op). */
function selfTimeByModule(profile: {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}): Map<string, number> {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byModule = new Map<string, number>();
  for (const [i, id] of profile.samples.entries()) {
    const frame = frames.get(id);
    if (!frame) continue;
    const url = frame.url;
    const module = !url
      ? frame.functionName
      : url.includes("node_modules")
      ? `npm:${/node_modules\/\.deno\/([^/]+)/.exec(url)?.[1] ?? url}`
      : url.startsWith("ext:")
      ? url
      : url.replace(/^.*?\/(src|scripts)\//, "$1/");
    byModule.set(module, (byModule.get(module) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return byModule;
}

const requests = count("requests");
const concurrency = count("concurrency");
const profileDir = values["cpu-prof"] === undefined ? undefined : await (async () => {
  await Deno.mkdir(values["cpu-prof"]!, { recursive: true });
  // A directory of this run's own, so earlier profiles are not summed in.
  return await Deno.makeTempDir({ dir: values["cpu-prof"], prefix: "gateway-" });
})();
const before: { threads?: Map<string, number>; machine?: number[] } = {};
let ok = 0;
{
  await using upstream = await startUpstream();
  await using service = await thisService(upstream, {
    denoFlags: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
  });
  await runLoad(service.send, { requests: count("warmup"), concurrency });
  before.threads = await threadTicks(service.pid);
  before.machine = await machineTicks();
  const run = await runLoad((i) => service.send(count("warmup") + i), { requests, concurrency });
  const threads = await threadTicks(service.pid);
  const machine = await machineTicks();
  ok = run.ok;
  console.log(
    `${run.ok} of ${requests} saved at ${concurrency} concurrent in ${run.seconds.toFixed(1)} s ` +
      `(${run.rps.toFixed(1)} req/s)`,
  );
  const ticksPerMs = await clockTicksPerSecond() / 1000;
  console.log("\nService CPU per image, by thread (ms)");
  let total = 0;
  for (const [name, ticks] of [...threads].sort((a, b) => b[1] - a[1])) {
    const ms = (ticks - (before.threads.get(name) ?? 0)) / ticksPerMs / Math.max(1, run.ok);
    total += ms;
    if (ms >= 0.05) console.log(`  ${name.padEnd(20)} ${ms.toFixed(2).padStart(7)}`);
  }
  console.log(`  ${"all threads".padEnd(20)} ${total.toFixed(2).padStart(7)}`);
  const spent = machine.map((t, i) => t - before.machine![i]);
  const all = spent.reduce((a, b) => a + b, 0) || 1;
  console.log(
    "\nMachine CPU over the run: " +
      ["user", "system", "idle", "iowait", "steal"]
        .map((name, i) => `${name} ${(spent[i] * 100 / all).toFixed(0)}%`).join(", "),
  );
}
if (profileDir) {
  // Written by the service as it stopped (when the `await using` block above ended).
  for await (const entry of Deno.readDir(profileDir)) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    const profile = JSON.parse(await Deno.readTextFile(`${profileDir}/${entry.name}`));
    const rows = [...selfTimeByModule(profile)].sort((a, b) => b[1] - a[1]).slice(0, count("top"));
    console.log(
      `\nEvent loop self time per image by module, ms (${entry.name}; start-up included)`,
    );
    for (const [module, us] of rows) {
      console.log(`  ${(us / 1000 / Math.max(1, ok)).toFixed(3).padStart(7)}  ${module}`);
    }
  }
}
