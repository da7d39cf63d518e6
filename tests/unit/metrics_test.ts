import assert from "node:assert/strict";
import { register as globalRegistry } from "prom-client";
import { createMetrics, type ServiceMetrics } from "../../src/metrics.ts";
import { type MetricType, parseExposition, sampleValue as value } from "../support/prometheus.ts";

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
