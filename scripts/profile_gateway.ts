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
import { GATEWAY_WORKLOAD_FLAGS, wholeNumber } from "./bench/flags.ts";
import { thisService } from "./bench/gateway.ts";
import { runLoad } from "./bench/load.ts";
import { cpuSeconds, cpuSecondsByThread, machineCpuTicks } from "./bench/process_cpu.ts";
import { startUpstream } from "./bench/upstream_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    ...GATEWAY_WORKLOAD_FLAGS,
    "cpu-prof": { type: "string" },
    top: { type: "string", default: "30" },
  },
});
const requests = wholeNumber("requests", values.requests, 1);
const concurrency = wholeNumber("concurrency", values.concurrency, 1);
const warmup = wholeNumber("warmup", values.warmup);
const top = wholeNumber("top", values.top, 1);

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

const profileDir = values["cpu-prof"] === undefined ? undefined : await (async () => {
  await Deno.mkdir(values["cpu-prof"]!, { recursive: true });
  // A directory of this run's own, so earlier profiles are not summed in.
  return await Deno.makeTempDir({ dir: values["cpu-prof"], prefix: "gateway-" });
})();
let saved = 0;
{
  await using upstream = await startUpstream();
  await using service = await thisService(upstream, {
    denoFlags: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
  });
  await runLoad(service.send, { requests: warmup, concurrency });
  const threadsBefore = await cpuSecondsByThread(service.pid);
  const processBefore = await cpuSeconds(service.pid);
  const machineBefore = await machineCpuTicks();
  const run = await runLoad((i) => service.send(warmup + i), { requests, concurrency });
  const threads = await cpuSecondsByThread(service.pid);
  const processAfter = await cpuSeconds(service.pid);
  const machine = await machineCpuTicks();
  saved = run.ok;
  console.log(
    `${run.ok} of ${requests} saved at ${concurrency} concurrent in ${run.seconds.toFixed(1)} s ` +
      `(${run.rps.toFixed(1)} req/s)`,
  );
  const perImage = (seconds: number) => seconds * 1000 / Math.max(1, run.ok);
  // A thread that ended during the run (an idle blocking-pool thread) leaves /proc/<pid>/task:
  // its time is in the process's total only.
  console.log("\nService CPU per image, by thread of the run (ms)");
  const rows = [...threads].map((
    [name, seconds],
  ): [string, number] => [name, perImage(seconds - (threadsBefore.get(name) ?? 0))]);
  for (const [name, ms] of rows.sort((a, b) => b[1] - a[1])) {
    if (ms >= 0.05) console.log(`  ${name.padEnd(20)} ${ms.toFixed(2).padStart(7)}`);
  }
  if (processBefore !== null && processAfter !== null) {
    const all = perImage(processAfter - processBefore).toFixed(2);
    console.log(`  ${"the whole process".padEnd(20)} ${all.padStart(7)}`);
  }
  if (machine && machineBefore) {
    const kinds = ["user", "system", "idle", "iowait", "steal"] as const;
    const spent = kinds.map((kind) => machine[kind] - machineBefore[kind]);
    const all = spent.reduce((a, b) => a + b, 0) || 1;
    console.log(
      "\nMachine CPU over the run: " +
        kinds.map((kind, i) => `${kind} ${(spent[i] * 100 / all).toFixed(0)}%`).join(", "),
    );
  }
}
if (profileDir) {
  // Written by the service as it stopped (when the `await using` block above ended).
  for await (const entry of Deno.readDir(profileDir)) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    const profile = JSON.parse(await Deno.readTextFile(`${profileDir}/${entry.name}`));
    const rows = [...selfTimeByModule(profile)].sort((a, b) => b[1] - a[1]).slice(0, top);
    console.log(
      `\nEvent loop self time per image by module, ms (${entry.name}; start-up included)`,
    );
    for (const [module, us] of rows) {
      console.log(`  ${(us / 1000 / Math.max(1, saved)).toFixed(3).padStart(7)}  ${module}`);
    }
  }
}
