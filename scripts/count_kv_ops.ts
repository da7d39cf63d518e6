/**
 * Capacity figures for docs/scaling.md, against the fake upstream on loopback:
 *
 * 1. KV operations per request: the HTTP service runs in this process over a Deno.Kv wrapped in
 *    a counting proxy (every get, getMany key, list call and entry, atomic commit with its checks
 *    and mutations, watch), and the counts of `--generations` generations are divided out — at
 *    concurrency 1 and at `--concurrency` (where optimistic retries show up), plus one image read
 *    and one catalog page.
 * 2. Throughput of one instance: the real entrypoint (`deno run -P=http src/main_http.ts`) in its
 *    own process, `--requests` generations at `--concurrency` with fetch, upstream latency 0.
 *
 * All limits are on (with values too high to refuse), as in a fleet. Run:
 * `deno run -P=test --config deno.json scripts/count_kv_ops.ts [--store kv|fs] [--requests 500]
 * [--concurrency 20] [--generations 50] [--skip-load] [--limits on|off]`
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { resolveConfig } from "../src/config.ts";
import { startHttpService } from "../src/http_door.ts";
import { startFakeOpenAI } from "../tests/fake_openai.ts";
import { spawnHttpService } from "../tests/e2e/support/http_server.ts";
import { wholeNumber } from "./bench/flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    store: { type: "string", default: "kv" },
    requests: { type: "string", default: "500" },
    concurrency: { type: "string", default: "20" },
    generations: { type: "string", default: "50" },
    "skip-load": { type: "boolean", default: false },
    limits: { type: "string", default: "on" },
  },
});
const store = values.store;
if (store !== "kv" && store !== "fs") throw new RangeError(`--store must be kv or fs: ${store}`);
const requests = wholeNumber("requests", values.requests, 1);
const concurrency = wholeNumber("concurrency", values.concurrency, 1);
const generations = wholeNumber("generations", values.generations, 1);

const TOKEN = "capacity-token-0123456789";
const HEADERS = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
if (values.limits !== "on" && values.limits !== "off") {
  throw new RangeError(`--limits must be on or off: ${values.limits}`);
}
/**
 * Limits on (the default), never refusing: their KV traffic is part of what is measured. With
 * `--limits off`, every limit off, as `deno task bench` runs this service.
 */
const LIMITS: Record<string, string> = values.limits === "on"
  ? {
    REQUEST_RATE_LIMIT: "1000000/15m",
    IMAGE_GENERATION_RATE_LIMIT: "1000000",
    MAX_INFLIGHT_PER_KEY: "1000",
    UPSTREAM_IMAGES_PER_MINUTE: "1000000",
    BUDGET_USD_PER_KEY_MONTH: "1000000",
  }
  : { REQUEST_RATE_LIMIT: "0", IMAGE_GENERATION_RATE_LIMIT: "0", MAX_INFLIGHT_PER_KEY: "0" };

/** KV operations seen by the counting proxy. */
class KvCounts {
  /** Calls per operation name (`get`, `getMany keys`, `commit`, `mutations`, …). */
  readonly ops = new Map<string, number>();
  /** Keys touched (read, checked or written) per key family, e.g. `images/blob`. */
  readonly families = new Map<string, number>();

  add(name: string, by = 1): void {
    this.ops.set(name, (this.ops.get(name) ?? 0) + by);
  }

  touch(key: Deno.KvKey): void {
    const family = key.slice(0, 2).map(String).join("/");
    this.families.set(family, (this.families.get(family) ?? 0) + 1);
  }

  snapshot(): { ops: Map<string, number>; families: Map<string, number> } {
    return { ops: new Map(this.ops), families: new Map(this.families) };
  }
}

/** The key an operation's first argument names (a key, or a check's `{ key }`). */
function keyOf(arg: unknown): Deno.KvKey | undefined {
  if (Array.isArray(arg)) return arg as Deno.KvKey;
  const key = (arg as { key?: unknown } | null)?.key;
  return Array.isArray(key) ? key as Deno.KvKey : undefined;
}

const ATOMIC_MUTATIONS = new Set(["set", "delete", "sum", "min", "max", "enqueue"]);

function countingAtomic(op: Deno.AtomicOperation, counts: KvCounts): Deno.AtomicOperation {
  let checks = 0;
  let mutations = 0;
  const proxy: Deno.AtomicOperation = new Proxy(op, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "commit") {
        return async () => {
          counts.add("atomic commit");
          counts.add("  checks", checks);
          counts.add("  mutations", mutations);
          const result = await target.commit();
          if (!result.ok) counts.add("  commits refused by a check");
          return result;
        };
      }
      return (...args: unknown[]) => {
        if (prop === "check") {
          checks += args.length;
          for (const arg of args) counts.touch(keyOf(arg) ?? []);
        } else if (typeof prop === "string" && ATOMIC_MUTATIONS.has(prop)) {
          mutations++;
          if (prop !== "enqueue") counts.touch(keyOf(args[0]) ?? []);
        }
        const out = value.apply(target, args);
        return out === target ? proxy : out;
      };
    },
  });
  return proxy;
}

function countingIterator<T>(iterator: Deno.KvListIterator<T>, counts: KvCounts) {
  const proxy: Deno.KvListIterator<T> = new Proxy(iterator, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) return () => proxy;
      if (prop === "next") {
        return async () => {
          const step = await target.next();
          if (!step.done) counts.add("  list entries");
          return step;
        };
      }
      return Reflect.get(target, prop, target);
    },
  });
  return proxy;
}

/** `kv` with every operation counted in `counts`. */
function countingKv(kv: Deno.Kv, counts: KvCounts): Deno.Kv {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      switch (prop) {
        case "atomic":
          return () => countingAtomic(target.atomic(), counts);
        case "list":
          return (...args: unknown[]) => {
            counts.add("list");
            const selector = args[0] as { prefix?: Deno.KvKey; start?: Deno.KvKey };
            counts.touch(selector.prefix ?? selector.start ?? []);
            return countingIterator(value.apply(target, args), counts);
          };
        case "getMany":
          return (keys: Deno.KvKey[], ...rest: unknown[]) => {
            counts.add("getMany");
            counts.add("  getMany keys", keys.length);
            for (const key of keys) counts.touch(key);
            return value.call(target, keys, ...rest);
          };
        case "get":
        case "set":
        case "delete":
        case "watch":
        case "enqueue":
          return (...args: unknown[]) => {
            counts.add(prop);
            if (prop === "watch") { for (const key of args[0] as Deno.KvKey[]) counts.touch(key); }
            else if (prop !== "enqueue") counts.touch(keyOf(args[0]) ?? []);
            return value.apply(target, args);
          };
        default:
          return value.bind(target);
      }
    },
  });
}

type Snapshot = ReturnType<KvCounts["snapshot"]>;

function perRequest(after: Map<string, number>, before: Map<string, number>, per: number) {
  const out: Record<string, number> = {};
  for (const [name, count] of after) {
    const delta = count - (before.get(name) ?? 0);
    if (delta !== 0) out[name] = Math.round((delta / per) * 10) / 10;
  }
  return out;
}

function difference(after: Snapshot, before: Snapshot, per: number): Record<string, number> {
  const families = Object.entries(perRequest(after.families, before.families, per))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([family, n]) => [`keys touched in ${family}`, n] as const);
  return { ...perRequest(after.ops, before.ops, per), ...Object.fromEntries(families) };
}

async function generate(url: string, prompt: string): Promise<{ status: number; url?: string }> {
  const response = await fetch(`${url}/v1/images/generations`, {
    method: "POST",
    headers: HEADERS,
    body: JSON.stringify({ prompt, response_format: "url" }),
  });
  const body = await response.json();
  return { status: response.status, url: body.data?.[0]?.url };
}

async function runBounded(total: number, width: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, total) }, async () => {
    while (next < total) await task(next++);
  }));
}

function printTable(title: string, rows: Record<string, number>): void {
  console.log(`\n${title}`);
  for (const [name, value] of Object.entries(rows)) console.log(`  ${name.padEnd(44)} ${value}`);
}

async function countOps(): Promise<void> {
  await using fake = await startFakeOpenAI();
  const dir = await Deno.makeTempDir({ prefix: "count-kv-ops-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  const counts = new KvCounts();
  const config = resolveConfig({
    env: {
      DATA_DIR: dir,
      HOME: dir,
      HOST: "127.0.0.1",
      PORT: "0",
      IMAGE_STORE: store,
      OPENAI_API_KEY: "sk-test-capacity-0123456789",
      OPENAI_BASE_URL: fake.baseUrl,
      MCP_AUTH_TOKEN: TOKEN,
      ...LIMITS,
    },
  });
  const service = await startHttpService(config, { services: { kv: countingKv(kv, counts) } });
  if (!service) throw new Error("The HTTP service did not start");
  try {
    // Warm up (first-use costs: codec, schema, key records), then measure.
    await generate(service.url, "warm-up");
    let before = counts.snapshot();
    let last: string | undefined;
    for (let i = 0; i < generations; i++) last = (await generate(service.url, `count ${i}`)).url;
    printTable(
      `KV operations per generation (POST /v1/images/generations, IMAGE_STORE=${store}, ` +
        `sequential, mean of ${generations})`,
      difference(counts.snapshot(), before, generations),
    );

    before = counts.snapshot();
    let statuses = 0;
    await runBounded(generations, concurrency, async (i) => {
      if ((await generate(service.url, `concurrent ${i}`)).status === 200) statuses++;
    });
    printTable(
      `KV operations per generation at concurrency ${concurrency} (${statuses}/${generations} ok)`,
      difference(counts.snapshot(), before, generations),
    );

    before = counts.snapshot();
    const image = await fetch(last!);
    await image.body?.cancel();
    printTable("KV operations of one GET /images/<file>", difference(counts.snapshot(), before, 1));

    before = counts.snapshot();
    const page = await fetch(`${service.url}/v1/images?limit=20`, { headers: HEADERS });
    await page.body?.cancel();
    printTable(
      "KV operations of one GET /v1/images?limit=20",
      difference(counts.snapshot(), before, 1),
    );
  } finally {
    await service.shutdown(10_000);
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads a /proc file: Deno grants /proc reads only with --allow-all, `cat` needs only `run`. */
async function readProc(path: string): Promise<string> {
  const output = await new Deno.Command("cat", { args: [path] }).output();
  return new TextDecoder().decode(output.stdout);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readProc(`/proc/${pid}/stat`);
  // Fields after the command name (which may contain spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function measureLoad(): Promise<void> {
  await using fake = await startFakeOpenAI();
  await using instance = await spawnHttpService({
    IMAGE_STORE: store,
    OPENAI_API_KEY: "sk-test-capacity-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    MCP_AUTH_TOKEN: TOKEN,
    ...LIMITS,
  }, { name: "capacity" });
  await generate(instance.url, "warm-up");
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const serviceCpuBefore = await processCpuSeconds(instance.pid);
  const ownCpuBefore = cpuUsage();
  let peakRssKb = 0;
  const sampler = setInterval(async () => {
    const status = await readProc(`/proc/${instance.pid}/status`).catch(() => "");
    peakRssKb = Math.max(peakRssKb, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
  }, 1_000);
  const started = performance.now();
  await runBounded(requests, concurrency, async (i) => {
    const t0 = performance.now();
    const { status } = await generate(instance.url, `load ${i}`);
    latencies.push(performance.now() - t0);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const serviceCpu = await processCpuSeconds(instance.pid) - serviceCpuBefore;
  const ownCpu = cpuUsage(ownCpuBefore);
  const ownCpuSeconds = (ownCpu.user + ownCpu.system) / 1e6;
  latencies.sort((a, b) => a - b);
  console.log(
    `\nOne instance (IMAGE_STORE=${store}, separate process, upstream latency 0): ` +
      `${requests} generations at concurrency ${concurrency} in ${seconds.toFixed(2)} s → ` +
      `${(requests / seconds).toFixed(1)} requests/s; latency p50 ${
        Math.round(percentile(latencies, 0.5))
      } ms, p99 ${Math.round(percentile(latencies, 0.99))} ms; statuses ${
        JSON.stringify(Object.fromEntries(statuses))
      }; fake produced ${fake.stats.imagesProduced} images`,
  );
  console.log(
    `CPU per generation: service ${(serviceCpu / requests * 1000).toFixed(1)} ms ` +
      `(→ ${(requests / serviceCpu).toFixed(1)} generations/s per fully used core); ` +
      `fake upstream + load generator ${(ownCpuSeconds / requests * 1000).toFixed(1)} ms; ` +
      `service peak RSS ${Math.round(peakRssKb / 1024)} MB`,
  );
}

console.log(`Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`);
await countOps();
if (!values["skip-load"]) await measureLoad();
