import assert from "node:assert/strict";
import { register as globalRegistry } from "prom-client";
import { createMetrics, type ServiceMetrics } from "../../src/metrics.ts";

// --- a small strict parser of the Prometheus text format (0.0.4) ------------------------------

type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes `Nan`).
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;

function parseValue(text: string, line: number): number {
  if (!FLOAT.test(text)) throw new SyntaxError(`line ${line}: bad value ${JSON.stringify(text)}`);
  if (/inf/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (/nan/i.test(text)) return NaN;
  return Number(text);
}

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new SyntaxError(`line ${line}: bad escape in HELP`);
  });
}

function parseSampleLine(text: string, line: number): Sample {
  let i = 0;
  while (i < text.length && /[a-zA-Z0-9_:]/.test(text[i])) i++;
  const name = text.slice(0, i);
  if (!METRIC_NAME.test(name)) throw new SyntaxError(`line ${line}: bad metric name`);
  const labels: Record<string, string> = {};
  if (text[i] === "{") {
    i++;
    while (text[i] !== "}") {
      const start = i;
      while (i < text.length && /[a-zA-Z0-9_]/.test(text[i])) i++;
      const label = text.slice(start, i);
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new SyntaxError(`line ${line}: bad label name ${JSON.stringify(label)}`);
      }
      if (label in labels) throw new SyntaxError(`line ${line}: duplicate label ${label}`);
      if (text[i++] !== "=" || text[i++] !== '"') {
        throw new SyntaxError(`line ${line}: expected ="`);
      }
      let value = "";
      for (;;) {
        const c = text[i++];
        if (c === undefined) throw new SyntaxError(`line ${line}: unterminated label value`);
        if (c === '"') break;
        if (c === "\\") {
          const e = text[i++];
          if (e === "\\") value += "\\";
          else if (e === '"') value += '"';
          else if (e === "n") value += "\n";
          else throw new SyntaxError(`line ${line}: bad escape \\${e}`);
        } else value += c;
      }
      labels[label] = value;
      if (text[i] === ",") i++;
      else if (text[i] !== "}") throw new SyntaxError(`line ${line}: expected , or }`);
    }
    i++;
  }
  if (text[i] !== " ") throw new SyntaxError(`line ${line}: expected a space before the value`);
  const rest = text.slice(i + 1).split(" ");
  if (rest.length > 2) throw new SyntaxError(`line ${line}: trailing text`);
  if (rest.length === 2 && !/^-?\d+$/.test(rest[1])) {
    throw new SyntaxError(`line ${line}: bad timestamp`);
  }
  return { name, labels, value: parseValue(rest[0], line) };
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sample.endsWith(suffix)) continue;
    const family = families.get(sample.slice(0, -suffix.length));
    if (family?.type === "histogram" || (family?.type === "summary" && suffix !== "_bucket")) {
      return family;
    }
  }
  return undefined;
}

/** Parses exposition text strictly; throws on anything the format does not allow. */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "output ends with a newline");
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  text.slice(0, -1).split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    if (raw.startsWith("#")) {
      const match = /^# (HELP|TYPE) ([^ ]+)(?: (.*))?$/.exec(raw);
      if (match === null) return; // a plain comment
      const [, keyword, name, rest = ""] = match;
      if (!METRIC_NAME.test(name)) throw new SyntaxError(`line ${line}: bad name ${name}`);
      if (closed.has(name)) throw new SyntaxError(`line ${line}: ${name} metadata after samples`);
      let family = families.get(name);
      if (family === undefined) {
        family = { name, type: "untyped", samples: [] };
        families.set(name, family);
      }
      if (current !== undefined && current !== family) closed.add(current.name);
      current = family;
      if (keyword === "HELP") {
        if (family.help !== undefined) throw new SyntaxError(`line ${line}: second HELP`);
        family.help = unescapeHelp(rest, line);
      } else {
        if (family.samples.length > 0) throw new SyntaxError(`line ${line}: TYPE after samples`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
          throw new SyntaxError(`line ${line}: bad type ${rest}`);
        }
        family.type = rest as MetricType;
      }
      return;
    }
    const sample = parseSampleLine(raw, line);
    const family = familyOf(sample.name, families);
    if (family === undefined) throw new SyntaxError(`line ${line}: ${sample.name} has no TYPE`);
    if (family !== current) throw new SyntaxError(`line ${line}: ${family.name} is not contiguous`);
    const series = sample.name + JSON.stringify(Object.entries(sample.labels).sort());
    if (seenSeries.has(series)) throw new SyntaxError(`line ${line}: duplicate series`);
    seenSeries.add(series);
    if (family.type === "counter" && !(sample.value >= 0)) {
      throw new SyntaxError(`line ${line}: negative counter`);
    }
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      assert.ok(le !== undefined, `${family.name}: bucket without le`);
      group.buckets.push([parseValue(le, 0), sample.value]);
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
  }
  for (const group of groups.values()) {
    assert.ok(group.buckets.length > 1, `${family.name} has real buckets`);
    for (let i = 1; i < group.buckets.length; i++) {
      assert.ok(group.buckets[i][0] > group.buckets[i - 1][0], `${family.name}: le increases`);
      assert.ok(group.buckets[i][1] >= group.buckets[i - 1][1], `${family.name}: cumulative`);
    }
    const last = group.buckets[group.buckets.length - 1];
    assert.equal(last[0], Infinity, `${family.name}: +Inf bucket`);
    assert.equal(last[1], group.count, `${family.name}: +Inf bucket equals _count`);
    assert.notEqual(group.sum, undefined, `${family.name}: _sum`);
  }
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  const family = familyOf(name, families);
  const sample = family?.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  return sample?.value;
}

function exercise(metrics: ServiceMetrics): void {
  metrics.observeHttpRequest({
    method: "GET",
    route: "/images/:file",
    status: 200,
    durationSeconds: 0.012,
  });
  metrics.observeHttpRequest({ method: "post", route: "/mcp", status: 429, durationSeconds: 0.2 });
  metrics.observeHttpRequest({ method: "GET", route: undefined, status: 404, durationSeconds: 0 });
  metrics.observeHttpRequest({ method: "BREW", route: null, status: 418, durationSeconds: 0.001 });
  metrics.recordGeneration({
    model: "gpt-image-2",
    outcome: "success",
    door: "mcp",
    durationSeconds: 21.5,
  });
  metrics.recordGeneration({ model: "gpt-image-2", outcome: "error", door: "http" });
  metrics.recordGenerationError("upstream_timeout");
  metrics.recordGenerationError('Request failed: "quota" exceeded\nfor org-123');
  metrics.recordImagesStored(2, 3_000_000);
  metrics.recordCost("gpt-image-2", 0.167);
  metrics.recordUpstreamError("upstream_rate_limited");
  metrics.recordRateLimited("generation");
  metrics.observeUpstreamQueueWait(1.5);
  metrics.trackInflight();
}

// --- tests -------------------------------------------------------------------------------------

Deno.test("metricsText is valid Prometheus text with every service metric", async () => {
  const metrics = createMetrics();
  exercise(metrics);
  const families = parseExposition(await metrics.metricsText());
  const expected: Record<string, MetricType> = {
    http_requests_total: "counter",
    http_responses_total: "counter",
    http_request_duration_seconds: "histogram",
    image_generations_total: "counter",
    image_generation_duration_seconds: "histogram",
    image_generation_errors_total: "counter",
    images_stored_total: "counter",
    image_bytes_stored_total: "counter",
    image_cost_usd_total: "counter",
    upstream_errors_total: "counter",
    rate_limited_requests_total: "counter",
    generations_in_flight: "gauge",
    upstream_queue_wait_seconds: "histogram",
    process_uptime_seconds: "gauge",
    nodejs_memory_heap_used_bytes: "gauge",
    nodejs_memory_rss_bytes: "gauge",
    process_resident_memory_bytes: "gauge",
  };
  for (const [name, type] of Object.entries(expected)) {
    assert.equal(families.get(name)?.type, type, name);
    assert.ok(families.get(name)?.help, `${name} has HELP`);
  }
  assert.equal(
    value(families, "http_requests_total", { method: "GET", route: "/images/:file" }),
    1,
  );
  assert.equal(value(families, "http_requests_total", { method: "POST", status: "429" }), 1);
  assert.equal(value(families, "http_responses_total", { status_class: "4xx" }), 3);
  assert.equal(value(families, "image_generations_total", { outcome: "success", door: "mcp" }), 1);
  assert.equal(value(families, "image_generation_duration_seconds_count"), 1);
  assert.equal(value(families, "image_generation_duration_seconds_sum"), 21.5);
  assert.equal(
    value(families, "image_generation_duration_seconds_bucket", { le: "30" }),
    1,
    "a real bucket",
  );
  assert.equal(value(families, "image_generation_duration_seconds_bucket", { le: "20" }), 0);
  assert.equal(value(families, "image_bytes_stored_total"), 3_000_000);
  assert.equal(value(families, "image_cost_usd_total", { model: "gpt-image-2" }), 0.167);
  assert.equal(value(families, "generations_in_flight"), 1);
  assert.equal(value(families, "rate_limited_requests_total", { limit: "generation" }), 1);
  assert.ok((value(families, "process_uptime_seconds") ?? -1) >= 0);
  assert.ok((value(families, "nodejs_memory_rss_bytes") ?? 0) > 0);
});

Deno.test("the parser rejects what Prometheus would reject", () => {
  const bad = [
    "x 1\n", // no TYPE
    '# TYPE x counter\nx{a="1} 1\n',
    '# TYPE x counter\nx{a="\\t"} 1\n',
    '# TYPE x counter\nx{1a="1"} 1\n',
    "# TYPE x counter\nx 1\nx 2\n",
    "# TYPE x counter\nx one\n",
    "# TYPE x counter\nx 1.5.2\n",
    "# TYPE x gauge\n# TYPE y gauge\ny 1\nx 1\n",
    '# TYPE x histogram\nx_bucket{le="1"} 2\nx_bucket{le="+Inf"} 1\nx_count 1\nx_sum 1\n',
  ];
  for (const text of bad) assert.throws(() => parseExposition(text), text);
  parseExposition('# HELP x a \\\\ b\\n\n# TYPE x gauge\nx{a="q\\"\\n\\\\"} -Inf\n');
});

Deno.test("labels stay bounded: route templates only, unknown routes are unmatched", async () => {
  const metrics = createMetrics({ defaultMetrics: false, maxLabelValues: 5 });
  exercise(metrics);
  for (let i = 0; i < 200; i++) {
    metrics.observeHttpRequest({
      method: "GET",
      route: `/generated/${i}`,
      status: 200,
      durationSeconds: 0.01,
    });
    metrics.recordGeneration({ model: `model-${i}`, outcome: "success", door: "cli" });
  }
  const families = parseExposition(await metrics.metricsText());
  const allowedLabels = new Set([
    "method",
    "route",
    "status",
    "status_class",
    "model",
    "outcome",
    "door",
    "kind",
    "limit",
    "le",
  ]);
  const routes = new Set<string>();
  for (const family of families.values()) {
    for (const sample of family.samples) {
      for (const [label, text] of Object.entries(sample.labels)) {
        assert.ok(allowedLabels.has(label), `${family.name} has label ${label}`);
        assert.ok(!text.includes("\n") && text.length < 64, `${label}=${JSON.stringify(text)}`);
      }
      if (sample.labels.route !== undefined) routes.add(sample.labels.route);
    }
  }
  assert.ok(routes.has("unmatched"));
  assert.ok(routes.size <= 6, `routes: ${[...routes]}`);
  const models = new Set(
    families.get("image_generations_total")!.samples.map((s) => s.labels.model),
  );
  assert.ok(models.size <= 6 && models.has("other"), `models: ${[...models]}`);
  const kinds = families.get("image_generation_errors_total")!.samples.map((s) => s.labels.kind);
  assert.deepEqual(kinds.sort(), ["other", "upstream_timeout"]);
  assert.equal(value(families, "http_requests_total", { method: "OTHER", status: "418" }), 1);
});

Deno.test("every instance has its own registry, apart from the global default", async () => {
  const a = createMetrics({ defaultMetrics: false });
  const b = createMetrics({ defaultMetrics: false });
  a.recordImagesStored(3, 10);
  const fa = parseExposition(await a.metricsText());
  const fb = parseExposition(await b.metricsText());
  assert.equal(value(fa, "images_stored_total"), 3);
  assert.equal(value(fb, "images_stored_total"), 0);
  assert.equal(globalRegistry.getSingleMetric("images_stored_total"), undefined);
  assert.equal(fa.has("process_resident_memory_bytes"), false, "default metrics off");
});

Deno.test("a prefix applies to every metric name", async () => {
  const metrics = createMetrics({ prefix: "imagegen_" });
  exercise(metrics);
  const families = parseExposition(await metrics.metricsText());
  for (const name of families.keys()) assert.ok(name.startsWith("imagegen_"), name);
  assert.ok(families.has("imagegen_http_requests_total"));
  assert.throws(() => createMetrics({ prefix: "bad-prefix" }), TypeError);
});

Deno.test("metricsJson has the predecessor's shape with percentiles", async () => {
  const metrics = createMetrics({
    uptimeSeconds: () => 42,
    now: () => Date.UTC(2026, 10, 15),
  });
  exercise(metrics);
  for (let i = 0; i < 1500; i++) {
    metrics.observeHttpRequest({
      method: "GET",
      route: "/health",
      status: 200,
      durationSeconds: i,
    });
  }
  const json = await metrics.metricsJson();
  assert.equal(json.timestamp, "2026-11-15T00:00:00.000Z");
  assert.equal(json.uptime, 42);
  const counter = json.counters.find((c) =>
    c.name === "http_requests_total" && c.labels.route === "/images/:file"
  );
  assert.deepEqual(counter, {
    name: "http_requests_total",
    labels: { method: "GET", route: "/images/:file", status: "200" },
    value: 1,
  });
  const gauge = json.gauges.find((g) => g.name === "nodejs_memory_heap_used_bytes");
  assert.ok(gauge !== undefined && gauge.value > 0);
  assert.equal(json.gauges.find((g) => g.name === "generations_in_flight")?.value, 1);

  const health = json.histograms.find((h) =>
    h.name === "http_request_duration_seconds" && h.labels.route === "/health"
  );
  assert.ok(health !== undefined);
  assert.deepEqual(Object.keys(health).sort(), [
    "avg",
    "count",
    "labels",
    "max",
    "min",
    "name",
    "p50",
    "p95",
    "p99",
    "sum",
  ]);
  assert.equal(health.count, 1500);
  assert.equal(health.sum, 1499 * 1500 / 2);
  assert.equal(health.min, 0, "min covers every observation");
  assert.equal(health.max, 1499);
  assert.equal(health.avg, 749.5);
  // Percentiles come from the latest 1,024 observations: 476 … 1499.
  assert.equal(health.p50, 476 + 511);
  assert.equal(health.p95, 476 + Math.ceil(0.95 * 1024) - 1);
  assert.equal(health.p99, 476 + Math.ceil(0.99 * 1024) - 1);
  const wait = json.histograms.find((h) => h.name === "upstream_queue_wait_seconds");
  assert.deepEqual(wait && [wait.count, wait.p50, wait.p99], [1, 1.5, 1.5]);
  assert.ok(json.histograms.some((h) => h.name === "image_generation_duration_seconds"));
});

Deno.test("trackInflight counts a generation until its done function is called once", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const first = metrics.trackInflight();
  const second = metrics.trackInflight();
  first();
  first();
  let families = parseExposition(await metrics.metricsText());
  assert.equal(value(families, "generations_in_flight"), 1);
  second();
  families = parseExposition(await metrics.metricsText());
  assert.equal(value(families, "generations_in_flight"), 0);
});

Deno.test("default process metrics work under the http permission set", async () => {
  const moduleUrl = new URL("../../src/metrics.ts", import.meta.url).href;
  const script = `
    import { createMetrics } from ${JSON.stringify(moduleUrl)};
    const metrics = createMetrics();
    const text = await metrics.metricsText();
    const json = await metrics.metricsJson();
    console.log(JSON.stringify({
      rss: text.includes("\\nprocess_resident_memory_bytes "),
      heap: json.gauges.some((g) => g.name === "nodejs_heap_size_used_bytes"),
    }));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", new URL("../../deno.json", import.meta.url).pathname, "-P=http", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.doesNotMatch(stderr, /NotCapable|PermissionDenied/);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), { rss: true, heap: true });
});
