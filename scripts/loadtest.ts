/**
 * Bounded loopback load test of the HTTP service (`deno task loadtest`): N generation requests at
 * concurrency C through `/v1/images/generations` against the fake upstream, reporting throughput,
 * latency percentiles and the server's peak RSS, and checking that nothing was lost: successful
 * responses = catalog records = stored files = images the fake produced.
 *
 * Flags: --requests 2000 --concurrency 50 --latency-ms 0 --size 1024x1024 --quality low --json
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { startFakeOpenAI } from "../tests/fake_openai.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    requests: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "50" },
    "latency-ms": { type: "string", default: "0" },
    size: { type: "string", default: "1024x1024" },
    quality: { type: "string", default: "low" },
    json: { type: "boolean", default: false },
    "v8-flags": { type: "string" },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const latencyMs = Number(values["latency-ms"]);
const root = new URL("../", import.meta.url).pathname;
const token = "loadtest-token-0123456789";

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Resident set size of `pid` in KiB (Deno gates /proc behind --allow-all, so ask `ps`). */
async function readRssKb(pid: number): Promise<number> {
  try {
    const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
    return Number(new TextDecoder().decode(out.stdout).trim()) || 0;
  } catch {
    return 0;
  }
}

let serverLog = "";

async function waitForUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    const match = /"url":"(http:\/\/[^"]+)"/.exec(seen);
    if (match) {
      // Keep draining stderr so the server never blocks on a full pipe.
      (async () => {
        for (;;) {
          const { value: more, done: ended } = await reader.read();
          if (ended) return;
          serverLog = (serverLog + more).slice(-200_000);
        }
      })();
      return match[1];
    }
  }
  throw new Error(`The server did not start:\n${seen}`);
}

await using fake = await startFakeOpenAI({ latencyMs });
const dataDir = await Deno.makeTempDir({ prefix: "loadtest-" });
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-P=http",
    ...(values["v8-flags"] ? [`--v8-flags=${values["v8-flags"]}`] : []),
    "--config",
    `${root}deno.json`,
    `${root}src/main_http.ts`,
  ],
  env: {
    DATA_DIR: dataDir,
    HOME: dataDir,
    PORT: "0",
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
    OPENAI_API_KEY: "sk-test-loadtest-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    MCP_AUTH_TOKEN: token,
    REQUEST_RATE_LIMIT: "0",
    IMAGE_GENERATION_RATE_LIMIT: "0",
    MAX_INFLIGHT_PER_KEY: "0",
  },
  stdin: "null",
  stdout: "null",
  stderr: "piped",
}).spawn();
let peakRssKb = 0;
const sampler = setInterval(async () => {
  peakRssKb = Math.max(peakRssKb, await readRssKb(child.pid));
}, 200);
try {
  const url = await waitForUrl(child.stderr);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const files = new Set<string>();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      const i = next++;
      const t0 = performance.now();
      const response = await fetch(`${url}/v1/images/generations`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "gpt-image-2",
          prompt: `load test image ${i}`,
          size: values.size,
          quality: values.quality,
          response_format: "url",
        }),
      });
      const body = await response.json();
      latencies.push(performance.now() - t0);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.ok) {
        for (const item of body.data) files.add(new URL(item.url).pathname.split("/").pop()!);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const statsResponse = await fetch(`${url}/admin/images/stats`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const stats = await statsResponse.json();
  if (!statsResponse.ok) {
    const errors = serverLog.split("\n").filter((l) => /"level":"(ERROR|FATAL)"/.test(l));
    throw new Error(`GET /admin/images/stats: ${JSON.stringify(stats)}\n${errors.join("\n")}`);
  }
  const stored = [...Deno.readDirSync(join(dataDir, "images"))]
    .filter((e) => e.isFile && !e.name.includes(".thumb.") && !e.name.startsWith("."))
    .length;
  latencies.sort((a, b) => a - b);
  const ok = statuses.get(200) ?? 0;
  const report = {
    requests,
    concurrency,
    upstreamLatencyMs: latencyMs,
    size: values.size,
    seconds: Number(seconds.toFixed(2)),
    throughputPerSecond: Number((requests / seconds).toFixed(1)),
    latencyMs: {
      p50: Math.round(percentile(latencies, 0.5)),
      p90: Math.round(percentile(latencies, 0.9)),
      p99: Math.round(percentile(latencies, 0.99)),
      max: Math.round(latencies.at(-1) ?? NaN),
    },
    statuses: Object.fromEntries(statuses),
    peakRssMb: Math.round(peakRssKb / 1024),
    successfulImages: files.size,
    catalogRecords: stats.stats.count,
    storedFiles: stored,
    upstreamImages: fake.stats.imagesProduced,
  };
  const lost = !(ok === requests && files.size === report.catalogRecords &&
    report.catalogRecords === stored && stored === report.upstreamImages);
  if (values.json) {
    console.log(JSON.stringify({ ...report, lost }, null, 2));
  } else {
    console.log(
      `requests ${requests} at concurrency ${concurrency}, upstream latency ${latencyMs} ms`,
    );
    console.log(`throughput ${report.throughputPerSecond}/s over ${report.seconds} s`);
    console.log(
      `latency p50 ${report.latencyMs.p50} ms, p90 ${report.latencyMs.p90} ms, p99 ${report.latencyMs.p99} ms, max ${report.latencyMs.max} ms`,
    );
    console.log(`statuses ${JSON.stringify(report.statuses)}; peak RSS ${report.peakRssMb} MB`);
    console.log(
      `images: responses ${files.size}, catalog ${report.catalogRecords}, files ${stored}, upstream ${report.upstreamImages} → ${
        lost ? "LOST IMAGES" : "nothing lost"
      }`,
    );
  }
  if (lost) Deno.exitCode = 1;
} finally {
  clearInterval(sampler);
  child.kill("SIGTERM");
  await child.status;
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
