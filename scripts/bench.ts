/**
 * `deno task bench`: this service side by side with the fake upstream alone, the predecessor (when
 * `PREDECESSOR_DIR` names an installed checkout) and the runtimes' empty-start floors, in one run
 * on one machine — gateway throughput and CPU per image, stdio start-up, peak memory — then the
 * goals of issue #20. Prints Markdown.
 *
 * Flags: --requests 300 --concurrency 20 --warmup 20 --rounds 5 --stdio-runs 25 --memory-in-flight 50
 * --memory-latency-ms 3000 --only gateway,stdio,memory --predecessor DIR (default
 * $PREDECESSOR_DIR) --check (exit 1 when a goal is missed) --write docs/performance.md (put the
 * report between the file's bench markers).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  fakeAlone,
  GATEWAY_SIZE,
  type GatewayTarget,
  measureGateways,
  MINIMAL_GATEWAY_ROW,
  minimalGateway,
  serviceRowName,
  thisService,
} from "./bench/gateway.ts";
import { GATEWAY_WORKLOAD_FLAGS, wholeNumber } from "./bench/flags.ts";
import { anyMissed, evaluateGoals } from "./bench/goals.ts";
import { describeMachine } from "./bench/machine.ts";
import { measurePeakMemory } from "./bench/memory.ts";
import { predecessorEntries, predecessorEnv, predecessorService } from "./bench/predecessor.ts";
import { type BenchRun, renderReport, replaceBetweenMarkers } from "./bench/report.ts";
import { median } from "./bench/stats.ts";
import { measureStarts, type StartCommand, stdioEntryTasks } from "./bench/stdio_start.ts";
import { startUpstream, type UpstreamProcess } from "./bench/upstream_process.ts";
import { flushWriteback } from "./bench/writeback.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SECTIONS = ["gateway", "stdio", "memory"] as const;

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    ...GATEWAY_WORKLOAD_FLAGS,
    rounds: { type: "string", default: "5" },
    "stdio-runs": { type: "string", default: "25" },
    "memory-in-flight": { type: "string", default: "50" },
    "memory-latency-ms": { type: "string", default: "3000" },
    only: { type: "string", default: SECTIONS.join(",") },
    predecessor: { type: "string", default: Deno.env.get("PREDECESSOR_DIR") ?? "" },
    check: { type: "boolean", default: false },
    write: { type: "string" },
  },
});

function count(name: keyof typeof values, min = 0): number {
  return wholeNumber(name, values[name] as string | undefined, min);
}

const only = new Set(values.only.split(",").map((s) => s.trim()));
for (const section of only) {
  if (!(SECTIONS as readonly string[]).includes(section)) {
    throw new RangeError(
      `Cannot run the bench: --only takes ${SECTIONS.join(", ")}, got "${section}"`,
    );
  }
}
const predecessorDir = values.predecessor || null;
const command = ["deno task bench", ...Deno.args].join(" ");
const log = (message: string) => console.error(`bench: ${message}`);

/** The environment every child process starts from. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "", NO_COLOR: "1" };
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  return env;
}

async function stdioCommands(upstream: UpstreamProcess, scratch: string): Promise<StartCommand[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const serverEnv = {
    ...baseEnv(),
    DATA_DIR: join(scratch, "data"),
    OPENAI_API_KEY: "sk-bench-0123456789abcdef",
    OPENAI_BASE_URL: upstream.baseUrl,
  };
  const commands: StartCommand[] = stdioEntryTasks(config.tasks ?? {}).map((task) => ({
    name: `this server (task ${task.name})`,
    cmd: [Deno.execPath(), ...task.args],
    label: ["deno", ...task.args].join(" "),
    cwd: ROOT,
    env: serverEnv,
    until: "initialize",
  }));
  if (predecessorDir) {
    const entries = await predecessorEntries(predecessorDir);
    commands.push({
      name: "the predecessor",
      cmd: ["node", entries.stdio],
      label: `node ${entries.stdio}`,
      cwd: scratch,
      env: {
        ...predecessorEnv(upstream, baseEnv().HOME ?? scratch),
        OUTPUT_DIR: join(scratch, "out"),
      },
      until: "initialize",
    });
  }
  await Deno.writeTextFile(join(scratch, "empty.ts"), "");
  await Deno.writeTextFile(join(scratch, "empty.js"), "");
  commands.push(
    {
      name: "floor: deno run of an empty file",
      cmd: [Deno.execPath(), "run", join(scratch, "empty.ts")],
      label: "deno run empty.ts",
      cwd: scratch,
      env: baseEnv(),
      until: "exit",
    },
    {
      name: "floor: node of an empty file",
      cmd: ["node", join(scratch, "empty.js")],
      label: "node empty.js",
      cwd: scratch,
      env: baseEnv(),
      until: "exit",
    },
  );
  return commands;
}

async function main(): Promise<number> {
  const machine = await describeMachine();
  const startedAt = new Date().toISOString();
  const scratch = await Deno.makeTempDir({ prefix: "bench-" });
  const run: BenchRun = {
    command,
    startedAt,
    machine,
    gateway: null,
    stdio: null,
    memory: [],
    predecessorNote: predecessorDir
      ? "`node --require scripts/bench/predecessor_limits.cjs src/index.js` (its `start:http`) " +
        `in \`${predecessorDir}\`: its hard-coded express-rate-limit allowances (100 per 15 minutes ` +
        "on /mcp, IMAGE_GENERATION_RATE_LIMIT per hour) are raised by that preload for the run, " +
        "its files untouched; OPENAI_BASE_URL points its OpenAI v4 client at the fake, " +
        "NODE_EXTRA_CA_CERTS trusts the fake's throwaway certificate; `model: dall-e-3`, " +
        "`save: true` (its URL download path: the fake answers a link, it downloads over https)."
      : "not measured (set PREDECESSOR_DIR to an installed checkout).",
    goals: [],
  };
  try {
    await using upstream = await startUpstream({ tls: predecessorDir !== null });
    if (only.has("stdio")) {
      const runs = count("stdio-runs");
      log(`stdio start-up, ${runs} runs each`);
      const rows = await measureStarts(await stdioCommands(upstream, scratch), {
        runs,
        warmup: 2,
      });
      run.stdio = { runs, rows };
    }
    if (only.has("gateway")) {
      const options = {
        requests: count("requests"),
        concurrency: count("concurrency"),
        warmup: count("warmup"),
        rounds: count("rounds", 1),
      };
      const image = upstream.images[GATEWAY_SIZE];
      run.gateway = {
        ...options,
        size: GATEWAY_SIZE,
        pngBytes: image.png,
        bodyBytes: image.b64,
        rows: [],
      };
      const targets: [string, () => Promise<GatewayTarget>][] = [
        ["the fake alone", () => Promise.resolve(fakeAlone(upstream))],
        // The baseline of this service's figure: only the work no storing gateway can skip.
        [MINIMAL_GATEWAY_ROW, () => minimalGateway(upstream)],
        [serviceRowName("rest"), () => thisService(upstream, { door: "rest" })],
      ];
      if (predecessorDir) {
        targets.push(["the predecessor", () => predecessorService(predecessorDir, upstream)]);
      }
      // Informative: the MCP door's answer also carries a JPEG preview of each image.
      targets.push([serviceRowName("mcp"), () => thisService(upstream, { door: "mcp" })]);
      await using started = new AsyncDisposableStack();
      const running: GatewayTarget[] = [];
      for (const [name, start] of targets) {
        log(`gateway: starting ${name}`);
        running.push(started.use(await start()));
      }
      log(
        `gateway: ${options.requests} requests per target at ${options.concurrency} concurrent ` +
          `in ${options.rounds} interleaved rounds`,
      );
      run.gateway.rows = await measureGateways(running, upstream, options, {
        beforeTurn: flushWriteback,
        afterTurn: flushWriteback,
        log,
      });
    }
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
  if (only.has("memory")) {
    const inFlight = count("memory-in-flight");
    // The goal is judged on the REST request; the other doors are informative.
    for (const door of ["rest", "mcp", "v1"] as const) {
      log(`peak memory, ${inFlight} generations in flight through ${door}`);
      run.memory.push(
        await measurePeakMemory({
          door,
          inFlight,
          size: "1536x1024",
          latencyMs: count("memory-latency-ms"),
        }),
      );
    }
  }

  // Images answered and on disk: a target that leaves its files to the kernel's writeback pays for
  // it within its own turns, as one that fsyncs does.
  const rps = (name: string) => run.gateway?.rows.find((r) => r.name === name)?.storedRps ?? null;
  const ourStarts = run.stdio?.rows.filter((r) => r.name.startsWith("this server") && !r.error) ??
    [];
  const predecessorStart = run.stdio?.rows.find((r) => r.name === "the predecessor" && !r.error);
  run.goals = evaluateGoals({
    serviceRps: rps(serviceRowName("rest")),
    fakeRps: rps("the fake alone"),
    predecessorRps: rps("the predecessor"),
    stdioMs: ourStarts.length ? Math.min(...ourStarts.map((r) => median(r.samples))) : null,
    predecessorStdioMs: predecessorStart ? median(predecessorStart.samples) : null,
    lostImages: run.gateway?.rows.find((r) => r.name === serviceRowName("rest"))?.lost ?? null,
    peakRssBytes: run.memory.find((m) => m.door === "rest")?.peakRssBytes ?? null,
  });
  const report = renderReport(run);
  console.log(report);
  if (values.write) {
    const path = values.write;
    await Deno.writeTextFile(path, replaceBetweenMarkers(await Deno.readTextFile(path), report));
    // Aligned as `deno fmt` aligns it, so `deno fmt --check` passes on the written file.
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
    log(`wrote ${path}`);
  }
  if (values.check && anyMissed(run.goals)) {
    log("a goal was missed (see Goals)");
    return 1;
  }
  return 0;
}

Deno.exitCode = await main();
