/**
 * Service metrics on a prom-client registry of their own (never the global default registry, so
 * tests and several services in one process do not share counts). Every door records through the
 * typed helpers below, which keep labels bounded: routes are templates (`/images/:file`, or
 * `unmatched`), error kinds come from a fixed list, and any label past its cap of distinct values
 * becomes `other`. `metricsText()` serves `/metrics`; `metricsJson()` serves the predecessor's
 * `/admin/metrics` shape, with percentiles from a bounded reservoir per histogram series.
 *
 * Names kept from the predecessor: `http_requests_total`, `http_responses_total`,
 * `image_generations_total`, `image_generation_errors_total`, `process_uptime_seconds`,
 * `nodejs_memory_*`. Its `_ms` summaries became `_seconds` histograms with buckets.
 *
 * @module
 */
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";
import { ERROR_KINDS } from "./errors.ts";
import { systemClock } from "./clock.ts";

/** Where a generation request came from. */
export type MetricsDoor = "mcp" | "http" | "v1" | "cli";

/** How a generation ended. */
export type GenerationOutcome = "success" | "error" | "cancelled" | "rejected";

/** Which limit refused a request. */
export type LimitName = "request" | "generation" | "inflight" | "upstream" | "budget";

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Prefix for every metric name, e.g. `imagegen_` (default none, as the predecessor). */
  prefix?: string;
  /** Collect prom-client's default process metrics (default true). */
  defaultMetrics?: boolean;
  /** Observations kept per histogram series for JSON percentiles (default 1,024). */
  reservoirSize?: number;
  /** Distinct values allowed per open-ended label (routes, models) before `other` (default 100). */
  maxLabelValues?: number;
  /** Seconds since the process started (default `performance.now() / 1000`). */
  uptimeSeconds?: () => number;
  /** Clock for JSON timestamps, epoch milliseconds (default `Date.now`). */
  now?: () => number;
}

/** One HTTP request, as the HTTP middleware reports it. */
export interface HttpObservation {
  /** Request method. */
  method: string;
  /** Matched route template (`/images/:file`); null or undefined when no route matched. */
  route: string | null | undefined;
  /** Response status code. */
  status: number;
  /** Time to the response, in seconds. */
  durationSeconds: number;
}

/** One finished generation request. */
export interface GenerationObservation {
  /** Model id. */
  model: string;
  /** How it ended. */
  outcome: GenerationOutcome;
  /** Where it came from. */
  door: MetricsDoor;
  /** Total time, in seconds (observed for successes only). */
  durationSeconds?: number;
}

/** A counter or gauge series in {@link MetricsJson}. */
export interface JsonSample {
  /** Metric name. */
  readonly name: string;
  /** Label values. */
  readonly labels: Record<string, string | number>;
  /** Current value. */
  readonly value: number;
}

/** A histogram series in {@link MetricsJson}; percentiles cover the latest observations. */
export interface JsonHistogram {
  /** Metric name. */
  readonly name: string;
  /** Label values. */
  readonly labels: Record<string, string>;
  /** Observations since start. */
  readonly count: number;
  /** Sum of all observations. */
  readonly sum: number;
  /** Smallest observation since start. */
  readonly min: number;
  /** Largest observation since start. */
  readonly max: number;
  /** `sum / count`. */
  readonly avg: number;
  /** Median of the reservoir. */
  readonly p50: number;
  /** 95th percentile of the reservoir. */
  readonly p95: number;
  /** 99th percentile of the reservoir. */
  readonly p99: number;
}

/** The predecessor's `/admin/metrics` shape. */
export interface MetricsJson {
  /** When the snapshot was taken, ISO 8601. */
  readonly timestamp: string;
  /** Process uptime in seconds. */
  readonly uptime: number;
  /** Counter series. */
  readonly counters: readonly JsonSample[];
  /** Gauge series. */
  readonly gauges: readonly JsonSample[];
  /** Histogram series. */
  readonly histograms: readonly JsonHistogram[];
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const GENERATION_BUCKETS = [1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];
const QUEUE_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const DOORS = new Set<string>(["mcp", "http", "v1", "cli"]);
const OUTCOMES = new Set<string>(["success", "error", "cancelled", "rejected"]);
const LIMITS = new Set<string>(["request", "generation", "inflight", "upstream", "budget"]);
const KINDS = new Set<string>(ERROR_KINDS);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Label values past a cap of distinct values collapse into one overflow value. */
class BoundedLabel {
  #seen = new Set<string>();
  #cap: number;
  #overflow: string;

  constructor(cap: number, overflow: string) {
    this.#cap = cap;
    this.#overflow = overflow;
  }

  value(raw: string): string {
    if (this.#seen.has(raw)) return raw;
    if (this.#seen.size >= this.#cap) return this.#overflow;
    this.#seen.add(raw);
    return raw;
  }
}

/** Count, sum, extremes and the latest observations of one histogram series. */
class Reservoir {
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  #values: Float64Array;
  #next = 0;
  #filled = 0;

  constructor(size: number) {
    this.#values = new Float64Array(size);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#filled < this.#values.length) this.#filled++;
  }

  /** Nearest-rank percentiles of the kept observations. */
  percentiles(qs: readonly number[]): number[] {
    if (this.#filled === 0) return qs.map(() => 0);
    const sorted = this.#values.slice(0, this.#filled).sort();
    return qs.map((q) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]);
  }
}

/** A prom-client histogram that also feeds a reservoir per label set, for JSON percentiles. */
class TrackedHistogram<L extends string> {
  readonly name: string;
  #histogram: Histogram<L>;
  #series = new Map<string, { labels: Record<string, string>; reservoir: Reservoir }>();
  #size: number;

  constructor(
    registry: Registry,
    config: { name: string; help: string; labelNames: readonly L[]; buckets: number[] },
    size: number,
  ) {
    this.name = config.name;
    this.#size = size;
    this.#histogram = new Histogram<L>({ ...config, registers: [registry] });
  }

  observe(labels: Record<L, string>, value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    this.#histogram.observe(labels as Partial<Record<L, string>>, value);
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels: { ...labels }, reservoir: new Reservoir(this.#size) };
      this.#series.set(key, series);
    }
    series.reservoir.observe(value);
  }

  json(): JsonHistogram[] {
    return [...this.#series.values()].map(({ labels, reservoir }) => {
      const [p50, p95, p99] = reservoir.percentiles([0.5, 0.95, 0.99]);
      return {
        name: this.name,
        labels,
        count: reservoir.count,
        sum: reservoir.sum,
        min: reservoir.min,
        max: reservoir.max,
        avg: reservoir.sum / reservoir.count,
        p50,
        p95,
        p99,
      };
    });
  }
}

function statusLabel(status: number): { status: string; statusClass: string } {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    return { status: "unknown", statusClass: "unknown" };
  }
  return { status: String(status), statusClass: `${Math.floor(status / 100)}xx` };
}

function oneOf(set: Set<string>, value: string, fallback: string): string {
  return set.has(value) ? value : fallback;
}

/** The service's metrics: typed recorders plus text and JSON exposition. */
export class ServiceMetrics {
  /** The registry holding every metric of this instance. */
  readonly registry: Registry;
  #routes: BoundedLabel;
  #models: BoundedLabel;
  #uptime: () => number;
  #now: () => number;
  #httpRequests: Counter<"method" | "route" | "status">;
  #httpResponses: Counter<"status_class">;
  #httpDuration: TrackedHistogram<"method" | "route">;
  #generations: Counter<"model" | "outcome" | "door">;
  #generationDuration: TrackedHistogram<"model">;
  #generationErrors: Counter<"kind">;
  #imagesStored: Counter;
  #bytesStored: Counter;
  #cost: Counter<"model">;
  #upstreamErrors: Counter<"kind">;
  #rateLimited: Counter<"limit">;
  #inflight: Gauge;
  #queueWait: TrackedHistogram<never>;

  /** Creates the metrics; prefer {@link createMetrics}. */
  constructor(options: MetricsOptions = {}) {
    const prefix = options.prefix ?? "";
    if (prefix !== "" && !NAME.test(prefix)) {
      throw new TypeError(`Invalid metric prefix: ${JSON.stringify(prefix)}`);
    }
    const size = options.reservoirSize ?? 1024;
    const cap = options.maxLabelValues ?? 100;
    const registry = new Registry();
    this.registry = registry;
    this.#routes = new BoundedLabel(cap, "unmatched");
    this.#models = new BoundedLabel(cap, "other");
    const uptime = options.uptimeSeconds ?? (() => performance.now() / 1000);
    this.#uptime = uptime;
    this.#now = options.now ?? systemClock;
    const name = (n: string) => prefix + n;
    const registers = [registry];

    this.#httpRequests = new Counter({
      name: name("http_requests_total"),
      help: "HTTP requests by method, route template and status code",
      labelNames: ["method", "route", "status"] as const,
      registers,
    });
    this.#httpResponses = new Counter({
      name: name("http_responses_total"),
      help: "HTTP responses by status class (2xx, 4xx, …)",
      labelNames: ["status_class"] as const,
      registers,
    });
    this.#httpDuration = new TrackedHistogram(registry, {
      name: name("http_request_duration_seconds"),
      help: "Time to respond to an HTTP request, in seconds",
      labelNames: ["method", "route"] as const,
      buckets: HTTP_BUCKETS,
    }, size);
    this.#generations = new Counter({
      name: name("image_generations_total"),
      help: "Generation requests by model, outcome and door",
      labelNames: ["model", "outcome", "door"] as const,
      registers,
    });
    this.#generationDuration = new TrackedHistogram(registry, {
      name: name("image_generation_duration_seconds"),
      help: "Duration of successful generation requests, in seconds",
      labelNames: ["model"] as const,
      buckets: GENERATION_BUCKETS,
    }, size);
    this.#generationErrors = new Counter({
      name: name("image_generation_errors_total"),
      help: "Failed generation requests by error kind",
      labelNames: ["kind"] as const,
      registers,
    });
    this.#imagesStored = new Counter({
      name: name("images_stored_total"),
      help: "Images written to the store",
      registers,
    });
    this.#bytesStored = new Counter({
      name: name("image_bytes_stored_total"),
      help: "Bytes of images written to the store",
      registers,
    });
    this.#cost = new Counter({
      name: name("image_cost_usd_total"),
      help: "Estimated upstream cost of generations, in US dollars",
      labelNames: ["model"] as const,
      registers,
    });
    this.#upstreamErrors = new Counter({
      name: name("upstream_errors_total"),
      help: "Failed upstream calls by error kind",
      labelNames: ["kind"] as const,
      registers,
    });
    this.#rateLimited = new Counter({
      name: name("rate_limited_requests_total"),
      help: "Requests refused by a limit (request, generation, inflight, upstream, budget)",
      labelNames: ["limit"] as const,
      registers,
    });
    this.#inflight = new Gauge({
      name: name("generations_in_flight"),
      help: "Generations running in this process",
      registers,
    });
    this.#queueWait = new TrackedHistogram<never>(registry, {
      name: name("upstream_queue_wait_seconds"),
      help: "Time spent waiting for the upstream image budget, in seconds",
      labelNames: [],
      buckets: QUEUE_BUCKETS,
    }, size);
    new Gauge({
      name: name("process_uptime_seconds"),
      help: "Seconds since the process started",
      registers,
      collect() {
        this.set(uptime());
      },
    });
    const memory: [string, string, (m: Deno.MemoryUsage) => number][] = [
      ["nodejs_memory_heap_used_bytes", "V8 heap in use, in bytes", (m) => m.heapUsed],
      ["nodejs_memory_heap_total_bytes", "V8 heap reserved, in bytes", (m) => m.heapTotal],
      ["nodejs_memory_rss_bytes", "Resident set size, in bytes", (m) => m.rss],
      ["nodejs_memory_external_bytes", "Memory outside the V8 heap, in bytes", (m) => m.external],
    ];
    for (const [metric, help, pick] of memory) {
      new Gauge({
        name: name(metric),
        help,
        registers,
        collect() {
          this.set(pick(Deno.memoryUsage()));
        },
      });
    }
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix });
  }

  /** Content type of {@link metricsText}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Records one HTTP request. */
  observeHttpRequest(observation: HttpObservation): void {
    const method = oneOf(METHODS, observation.method.toUpperCase(), "OTHER");
    const route = observation.route ? this.#routes.value(observation.route) : "unmatched";
    const { status, statusClass } = statusLabel(observation.status);
    this.#httpRequests.inc({ method, route, status });
    this.#httpResponses.inc({ status_class: statusClass });
    this.#httpDuration.observe({ method, route }, observation.durationSeconds);
  }

  /** Records one finished generation request. */
  recordGeneration(observation: GenerationObservation): void {
    const model = this.#models.value(observation.model);
    this.#generations.inc({
      model,
      outcome: oneOf(OUTCOMES, observation.outcome, "error"),
      door: oneOf(DOORS, observation.door, "other"),
    });
    if (observation.outcome === "success" && observation.durationSeconds !== undefined) {
      this.#generationDuration.observe({ model }, observation.durationSeconds);
    }
  }

  /** Counts a failed generation by error kind (an `ErrorKind`; anything else counts as `other`). */
  recordGenerationError(kind: string): void {
    this.#generationErrors.inc({ kind: oneOf(KINDS, kind, "other") });
  }

  /** Counts images written to the store and their bytes. */
  recordImagesStored(count: number, bytes: number): void {
    if (count > 0) this.#imagesStored.inc(count);
    if (bytes > 0) this.#bytesStored.inc(bytes);
  }

  /** Adds the estimated cost of a generation. */
  recordCost(model: string, usd: number): void {
    if (Number.isFinite(usd) && usd > 0) this.#cost.inc({ model: this.#models.value(model) }, usd);
  }

  /** Counts a failed upstream call by error kind (an `ErrorKind`, else `other`). */
  recordUpstreamError(kind: string): void {
    this.#upstreamErrors.inc({ kind: oneOf(KINDS, kind, "other") });
  }

  /** Counts a request refused by `limit`. */
  recordRateLimited(limit: LimitName): void {
    this.#rateLimited.inc({ limit: oneOf(LIMITS, limit, "other") });
  }

  /** Counts a generation as running until the returned function is called (once). */
  trackInflight(): () => void {
    this.#inflight.inc();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inflight.dec();
    };
  }

  /** Records how long a request waited for the upstream budget. */
  observeUpstreamQueueWait(seconds: number): void {
    this.#queueWait.observe({} as Record<never, string>, seconds);
  }

  /** Prometheus text exposition, for `/metrics`. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** The predecessor's `/admin/metrics` JSON: counters, gauges and histograms with percentiles. */
  async metricsJson(): Promise<MetricsJson> {
    const all = await this.registry.getMetricsAsJSON() as MetricObjectWithValues<
      MetricValue<string>
    >[];
    const samples = (type: string): JsonSample[] =>
      all.filter((m) => String(m.type) === type).flatMap((m) =>
        m.values.map((v) => ({
          name: m.name,
          labels: { ...v.labels } as Record<string, string | number>,
          value: v.value,
        }))
      );
    return {
      timestamp: new Date(this.#now()).toISOString(),
      uptime: this.#uptime(),
      counters: samples("counter"),
      gauges: samples("gauge"),
      histograms: [
        ...this.#httpDuration.json(),
        ...this.#generationDuration.json(),
        ...this.#queueWait.json(),
      ],
    };
  }
}

/** Creates the service's metrics on a registry of their own. */
export function createMetrics(options: MetricsOptions = {}): ServiceMetrics {
  return new ServiceMetrics(options);
}
