/**
 * End-to-end: the predecessor's documented REST requests and answers (see the seed contract),
 * auth and roles, hostile requests and the limits — against the real HTTP service process
 * (`deno run -P=http src/main_http.ts`), its upstream pointed at tests/fake_openai.ts. Two
 * processes share one KV file where the limit must hold across instances.
 */
import assert from "node:assert/strict";
import { PRIVATE_DIR_NAME } from "../../src/images/folder.ts";
import { startFakeOpenAI } from "../fake_openai.ts";
import { parseExposition } from "../support/prometheus.ts";
import {
  type HttpServerProcess,
  startHttpServer,
  TEST_OPENAI_KEY,
  withHttpService,
} from "./support/http_server.ts";

const ADMIN = "legacy-admin-token-0123456789abcdef";
const AUTH_ENV = { MCP_AUTH_TOKEN: ADMIN, IMAGE_GENERATION_RATE_LIMIT: "1000" };

type Json = Record<string, unknown> & {
  success?: boolean;
  error?: string;
  field?: string;
  data?: Record<string, unknown>;
};

interface LegacyImage {
  id: string;
  url: string;
  revised_prompt: string | null;
  filePath: string;
  imageUrl: string;
}

/** Where a REST `filePath` (relative to OUTPUT_DIR, the default `$DATA_DIR/images`) lies on disk. */
function savedPath(server: HttpServerProcess, filePath: string): string {
  return `${server.dataDir}/images/${filePath}`;
}

async function call(
  server: HttpServerProcess,
  path: string,
  init: { method?: string; token?: string | null; body?: unknown; headers?: HeadersInit } = {},
): Promise<{ status: number; headers: Headers; body: Json }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  let body: string | undefined;
  if (init.body !== undefined) {
    headers.set("Content-Type", "application/json");
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
  }
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const text = await response.text();
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

async function catalogCount(server: HttpServerProcess): Promise<number> {
  const stats = await call(server, "/admin/images/stats", { token: ADMIN });
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  return (stats.body.stats as { count: number }).count;
}

async function createKey(server: HttpServerProcess, name: string, role = "user") {
  const created = await call(server, "/admin/keys", { token: ADMIN, body: { name, role } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { key: created.body.key as string, id: (created.body.record as { id: string }).id };
}

Deno.test("POST /mcp generates, saves all n images and answers in the predecessor's shape", async () => {
  await withHttpService(AUTH_ENV, async ({ server, fake }) => {
    const health = await call(server, "/health");
    assert.equal(health.status, 200);
    assert.equal(health.body.status, "ok");

    const tool = await call(server, "/mcp", { token: ADMIN });
    assert.equal(tool.status, 200);
    assert.equal(tool.body.name, "generate_image");
    assert.equal(typeof tool.body.description, "string");
    const parameters = tool.body.parameters as { type: string; properties: object; required: [] };
    assert.equal(parameters.type, "object");
    assert.ok("prompt" in parameters.properties && "n" in parameters.properties);
    assert.deepEqual(parameters.required, ["prompt"]);

    const made = await call(server, "/mcp", {
      token: ADMIN,
      body: { prompt: "three lemons", n: 3, size: "1024x1024", quality: "low" },
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    assert.equal(made.body.success, true);
    const data = made.body.data as unknown as LegacyImage & { images: LegacyImage[] };
    assert.equal(data.images.length, 3, "all n images are saved");
    assert.equal(fake.stats.imagesProduced, 3);
    for (const field of ["url", "revised_prompt", "filePath", "imageUrl"] as const) {
      assert.ok(field in data, `data.${field}`);
      assert.equal(data[field], data.images[0][field], `data is the first image (${field})`);
    }
    for (const image of data.images) {
      assert.equal(image.imageUrl, image.url);
      assert.match(image.imageUrl, new RegExp(`^${server.url}/images/[^/]+\\.png$`));
      assert.ok(!image.filePath.startsWith("/"), `relative to OUTPUT_DIR: ${image.filePath}`);
      assert.ok(!image.filePath.includes(server.dataDir), "no server path");
      const onDisk = await Deno.readFile(savedPath(server, image.filePath));
      const served = await fetch(image.imageUrl);
      assert.equal(served.status, 200);
      assert.equal(served.headers.get("content-type"), "image/png");
      assert.deepEqual(new Uint8Array(await served.arrayBuffer()), onDisk);
    }
    assert.equal(new Set(data.images.map((i) => i.filePath)).size, 3, "distinct files");

    const b64 = await call(server, "/mcp", {
      token: ADMIN,
      body: { prompt: "a pear", quality: "low", response_format: "b64_json" },
    });
    const first = b64.body.data as { b64_json: string; filePath: string };
    assert.deepEqual(
      Uint8Array.fromBase64(first.b64_json),
      await Deno.readFile(savedPath(server, first.filePath)),
    );

    assert.equal(await catalogCount(server), 4);
  });
});

Deno.test("POST /mcp refuses bad input with 400 naming the field, and calls nothing upstream", async () => {
  await withHttpService(AUTH_ENV, async ({ server, fake }) => {
    const cases: [unknown, string][] = [
      [{ prompt: "x", size: "999x999" }, "size"],
      [{ prompt: "x", n: 50 }, "n"],
      [{ size: "1024x1024" }, "prompt"],
      [{ prompt: "x", quality: "ultra" }, "quality"],
      ["{not json", "body"],
    ];
    for (const [body, field] of cases) {
      const refused = await call(server, "/mcp", { token: ADMIN, body });
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.equal(refused.body.success, false);
      assert.equal(typeof refused.body.error, "string");
      assert.equal(refused.body.field, field, `${JSON.stringify(body)} → ${refused.body.error}`);
    }
    const blocked = await call(server, "/mcp", {
      token: ADMIN,
      body: { prompt: "nope [fault:moderation]" },
    });
    assert.equal(blocked.status, 400, "an upstream refusal is not a 200 {success:false}");
    assert.equal(blocked.body.success, false);
    assert.match(blocked.body.error!, /safety|moderation/i);
    assert.equal(fake.stats.imagesProduced, 0);
    assert.equal(await catalogCount(server), 0);
  });
});

Deno.test("admin endpoints report metrics, store statistics and a cleanup dry run", async () => {
  await withHttpService({ ...AUTH_ENV, IMAGE_MAX_COUNT: "1" }, async ({ server }) => {
    const made = await call(server, "/mcp", {
      token: ADMIN,
      body: { prompt: "two plums", n: 2, quality: "low" },
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const images = (made.body.data as { images: LegacyImage[] }).images;

    const metrics = await call(server, "/admin/metrics", { token: ADMIN });
    assert.equal(metrics.status, 200);
    const counters = metrics.body.counters as { name: string; value: number }[];
    assert.ok(counters.some((c) => c.name === "image_generations_total" && c.value >= 1));
    const histograms = metrics.body.histograms as Record<string, unknown>[];
    const duration = histograms.find((h) => h.name === "http_request_duration_seconds");
    assert.ok(duration, "request durations");
    for (const key of ["count", "sum", "min", "max", "avg", "p50", "p95", "p99"]) {
      assert.equal(typeof duration[key], "number", key);
    }

    const stats = await call(server, "/admin/images/stats", { token: ADMIN });
    assert.equal(stats.status, 200);
    assert.equal(stats.body.success, true);
    const s = stats.body.stats as Record<string, unknown>;
    assert.equal(s.count, 2);
    let total = 0;
    for (const image of images) total += (await Deno.stat(savedPath(server, image.filePath))).size;
    assert.equal(s.totalSize, total);
    for (const key of ["totalSizeFormatted", "averageAge", "averageSize"]) assert.ok(key in s, key);
    assert.ok(s.oldestFile && s.newestFile);
    assert.deepEqual(stats.body.cleanup, {
      enabled: false,
      retentionDays: 7,
      maxFiles: 1,
      maxBytes: null,
      intervalHours: 24,
    });

    const dry = await call(server, "/admin/images/cleanup", {
      token: ADMIN,
      body: { dryRun: true },
    });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.success, true);
    assert.equal(dry.body.dryRun, true);
    const results = dry.body.results as { filesScanned: number; deletedFiles: string[] };
    assert.equal(results.filesScanned, 2);
    assert.equal(results.deletedFiles.length, 1, "one over IMAGE_MAX_COUNT");
    assert.ok(Array.isArray((dry.body.results as { errors: [] }).errors));
    assert.equal(await catalogCount(server), 2, "a dry run deletes nothing");
    for (const image of images) await Deno.stat(savedPath(server, image.filePath));
  });
});

Deno.test("REST /mcp answers 401 for a missing or malformed token and 403 for a wrong one", async () => {
  await withHttpService(AUTH_ENV, async ({ server }) => {
    const body = { prompt: "x" };
    const cases: [HeadersInit, number][] = [
      [{}, 401],
      [{ Authorization: "Basic dXNlcjpwYXNz" }, 401],
      [{ Authorization: "Bearer" }, 401],
      [{ Authorization: "Bearer wrong-token-0123456789" }, 403],
      [{ Authorization: `Bearer ${ADMIN}x` }, 403],
    ];
    for (const [headers, status] of cases) {
      for (const method of ["GET", "POST"]) {
        const answer = await call(server, "/mcp", {
          method,
          headers,
          ...(method === "POST" ? { body } : {}),
        });
        assert.equal(answer.status, status, `${method} ${JSON.stringify(headers)}`);
        assert.equal(answer.body.success, false);
        assert.equal(typeof answer.body.error, "string");
      }
    }
    for (const path of ["/admin/metrics", "/admin/images/stats"]) {
      assert.equal((await call(server, path)).status, 401, path);
      assert.equal((await call(server, path, { token: "nope-0123456789" })).status, 403, path);
    }
    assert.equal(await catalogCount(server), 0);
  });
});

Deno.test("a user key generates but cannot reach admin endpoints; a revoked key is refused at once", async () => {
  await withHttpService(AUTH_ENV, async ({ server }) => {
    const user = await createKey(server, "alice");
    const made = await call(server, "/mcp", { token: user.key, body: { prompt: "x" } });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    for (
      const [path, body] of [
        ["/admin/metrics", undefined],
        ["/admin/images/stats", undefined],
        ["/admin/keys", undefined],
        ["/admin/images/cleanup", { dryRun: false }],
        ["/admin/keys", { name: "escalate", role: "admin" }],
      ] as const
    ) {
      const refused = await call(server, path, { token: user.key, body });
      assert.equal(refused.status, 403, `${path}: ${JSON.stringify(refused.body)}`);
      assert.match(refused.body.error!, /admin role/);
    }
    const keys = await call(server, "/admin/keys", { token: ADMIN });
    assert.deepEqual((keys.body.keys as { name: string }[]).map((k) => k.name), ["alice"]);

    const revoked = await call(server, `/admin/keys/${user.id}`, {
      method: "DELETE",
      token: ADMIN,
    });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const rest = await call(server, "/mcp", { token: user.key, body: { prompt: "x" } });
    assert.equal(rest.status, 403, "REST: the token no longer matches an active key");
    const v1 = await fetch(`${server.url}/v1/images`, {
      headers: { Authorization: `Bearer ${user.key}` },
    });
    await v1.body?.cancel();
    assert.equal(v1.status, 401);
    assert.match(v1.headers.get("www-authenticate") ?? "", /invalid_token/);
    assert.equal(await catalogCount(server), 1);
  });
});

Deno.test("hostile requests are refused and nothing is stored or sent upstream", async () => {
  // Fifteen wrong credentials from one address: room for all of them before the lockout (whose
  // 429 is tested in http_edge_test.ts), so each family's own status is what is checked here.
  const env = { ...AUTH_ENV, MAX_BODY_BYTES: "65536", AUTH_FAILURE_LIMIT: "100/1m" };
  await withHttpService(env, async ({ server, fake }) => {
    const big = JSON.stringify({ prompt: "x".repeat(2 * 1024 * 1024) });
    for (const path of ["/mcp", "/v1/images/generations"]) {
      const oversized = await call(server, path, { token: ADMIN, body: big });
      assert.equal(oversized.status, 413, path);
    }
    // No Content-Length: the limit must hold while the body streams in.
    const chunk = new TextEncoder().encode(`{"prompt":"${"y".repeat(32 * 1024)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 64) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: stream,
    }).then(async (r) => {
      await r.body?.cancel();
      return r.status;
    }, () => 413); // The server may close the connection once it has refused the body.
    assert.equal(streamed, 413);

    for (
      const path of [
        "/images/..%2f..%2fetc%2fpasswd",
        "/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/images/..%5c..%5cwindows%5cwin.ini",
        "/images/image_..%2fkv.sqlite3",
        "/images/kv.sqlite3",
        "/images/..%2fkv.sqlite3/thumb",
      ]
    ) {
      const answer = await fetch(`${server.url}${path}`);
      const text = await answer.text();
      assert.ok(answer.status === 400 || answer.status === 404, `${path}: ${answer.status}`);
      assert.doesNotMatch(text, /root:|SQLite/, path);
    }

    const tokens: (string | null)[] = [null, "", "x", ADMIN.slice(0, -1), `x${ADMIN}`, "Bearer"];
    for (const token of tokens) {
      const rest = await call(server, "/mcp", {
        token,
        body: { prompt: "should never run" },
      });
      assert.ok(rest.status === 401 || rest.status === 403, `REST ${token}: ${rest.status}`);
      const v1 = await call(server, "/v1/images/generations", {
        token,
        body: { prompt: "should never run" },
      });
      assert.equal(v1.status, 401, `v1 ${token}`);
      const admin = await call(server, "/admin/images/cleanup", { token, body: {} });
      assert.ok(admin.status === 401 || admin.status === 403, `admin ${token}`);
    }
    assert.equal(fake.stats.requestsServed, 0, "nothing reached the upstream");
    assert.equal(await catalogCount(server), 0);
    const files = [];
    for await (const entry of Deno.readDir(server.dataDir)) {
      if (entry.name === "images") {
        for await (const image of Deno.readDir(`${server.dataDir}/images`)) {
          if (image.name !== PRIVATE_DIR_NAME) files.push(image.name); // the store's own folder
        }
      }
    }
    assert.deepEqual(files, []);
  });
});

Deno.test("refused credentials use up no allowance; the limited routes send RateLimit headers", async () => {
  await withHttpService({
    MCP_AUTH_TOKEN: ADMIN,
    IMAGE_GENERATION_RATE_LIMIT: "1",
    REQUEST_RATE_LIMIT: "4/1m",
  }, async ({ server }) => {
    for (let i = 0; i < 6; i++) {
      const refused = await call(server, "/mcp", {
        token: "wrong-0123456789",
        body: { prompt: "x" },
      });
      assert.equal(refused.status, 403);
    }
    const made = await call(server, "/mcp", { token: ADMIN, body: { prompt: "x" } });
    assert.equal(made.status, 200, "the wrong tokens did not spend the allowance");
    assert.equal(made.headers.get("ratelimit-limit"), "4");
    assert.equal(made.headers.get("ratelimit-remaining"), "3");
    assert.match(made.headers.get("ratelimit-policy") ?? "", /q=4;w=60/);
    assert.match(made.headers.get("ratelimit") ?? "", /r=3;t=\d+/);

    const second = await call(server, "/mcp", { token: ADMIN, body: { prompt: "y" } });
    assert.equal(second.status, 429, "one image per hour");
    assert.match(second.body.error!, /Image generation limit reached/);
    assert.ok(Number(second.headers.get("retry-after")) > 0);
    assert.equal(typeof second.body.retryAfter, "number");

    const third = await call(server, "/mcp", { token: ADMIN });
    assert.equal(third.status, 200);
    assert.equal(third.headers.get("ratelimit-remaining"), "1");
    const fourth = await call(server, "/mcp", { token: ADMIN });
    assert.equal(fourth.status, 200);
    const fifth = await call(server, "/mcp", { token: ADMIN });
    assert.equal(fifth.status, 429, "four requests per minute");
    assert.match(fifth.body.error!, /Too many requests/);
    assert.ok(Number(fifth.headers.get("retry-after")) > 0);
    assert.equal(fifth.headers.get("ratelimit-remaining"), "0");

    // Image files are cheap cacheable reads, outside the request limit.
    const image = (made.body.data as unknown as LegacyImage).imageUrl;
    for (let i = 0; i < 3; i++) {
      const read = await fetch(image);
      await read.body?.cancel();
      assert.equal(read.status, 200);
    }
  });
});

Deno.test("UPSTREAM_IMAGES_PER_MINUTE makes the next request wait, then refuses it with 429", async () => {
  await withHttpService({
    ...AUTH_ENV,
    UPSTREAM_IMAGES_PER_MINUTE: "2",
    UPSTREAM_QUEUE_TIMEOUT_MS: "1500",
  }, async ({ server, fake }) => {
    for (const prompt of ["first", "second"]) {
      const made = await call(server, "/mcp", { token: ADMIN, body: { prompt } });
      assert.equal(made.status, 200, JSON.stringify(made.body));
    }
    const third = await call(server, "/mcp", { token: ADMIN, body: { prompt: "third" } });
    assert.equal(third.status, 429, JSON.stringify(third.body));
    assert.match(third.body.error!, /Upstream image budget exhausted: waited \d+ s in the queue/);
    assert.ok(Number(third.headers.get("retry-after")) > 0);
    assert.equal(fake.stats.requestsServed, 2, "the third never went upstream");
    assert.equal(await catalogCount(server), 2);
  });
});

Deno.test("a key over its monthly budget is refused with a clear message", async () => {
  // The default model (gpt-image-2) is fully priced from the registry's built-in figures, so its
  // generations count against budgets with no MODELS_FILE, and no start-up warning says otherwise.
  // Admission reserves a request's worst-case price: a low-quality image fits this budget, a
  // high-quality one (worst case several times larger) does not.
  const env = { ...AUTH_ENV, BUDGET_USD_PER_KEY_MONTH: "0.05" };
  await withHttpService(env, async ({ server }) => {
    const user = await createKey(server, "thrifty");
    assert.doesNotMatch(server.stderr(), /price of .* is not fully known/);
    const first = await call(server, "/mcp", {
      token: user.key,
      body: { prompt: "x", quality: "low" },
    });
    assert.equal(first.status, 200, "the first request fits: nothing spent yet");
    const second = await call(server, "/mcp", {
      token: user.key,
      body: { prompt: "y", quality: "high" },
    });
    assert.equal(second.status, 402, JSON.stringify(second.body));
    assert.equal(second.body.code, "budget_exceeded");
    assert.match(
      second.body.error!,
      /^Monthly budget exceeded for this key: spent \$[\d.]+ of \$0\.0500, \$[\d.]+ left; this request may cost up to \$[\d.]+; the budget resets on \d{4}-/,
    );
    const v1 = await call(server, "/v1/images/generations", {
      token: user.key,
      body: { prompt: "z", quality: "high" },
    });
    assert.equal(v1.status, 402);
    assert.equal((v1.body.error as unknown as { type: string }).type, "insufficient_quota");
    const other = await createKey(server, "fresh");
    const fresh = await call(server, "/mcp", { token: other.key, body: { prompt: "w" } });
    assert.equal(fresh.status, 200, "the budget is per key");
    assert.equal(await catalogCount(server), 2);
    const usage = await call(server, "/admin/usage", { token: ADMIN });
    const rows = (usage.body as unknown as { rows: { name: string; spendUsd: number }[] }).rows;
    const spent = rows.find((row) => row.name === "thrifty")?.spendUsd ?? 0;
    assert.ok(spent > 0, `the ledger holds the default model's cost: ${JSON.stringify(rows)}`);
  });
});

Deno.test("/metrics is strict Prometheus text without per-path labels", async () => {
  await withHttpService(AUTH_ENV, async ({ server }) => {
    const marks = Array.from({ length: 4 }, () => crypto.randomUUID());
    const paths = [
      `/${marks[0]}`,
      `/images/${marks[1]}.png`,
      `/v1/${marks[2]}`,
      `/admin/${marks[3]}?q=${marks[3]}`,
    ];
    for (const path of paths) {
      const answer = await fetch(`${server.url}${path}`, {
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
      await answer.body?.cancel();
      assert.ok(answer.status >= 400, path);
    }
    await call(server, "/mcp", { token: ADMIN, body: { prompt: "a metric" } });
    // With auth on, /metrics needs an admin key (METRICS_PUBLIC=true would open it).
    const response = await fetch(`${server.url}/metrics`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await response.text();
    const families = parseExposition(text);
    for (
      const name of [
        "http_requests_total",
        "http_responses_total",
        "http_request_duration_seconds",
        "image_generations_total",
        "image_generation_duration_seconds",
        "process_uptime_seconds",
      ]
    ) {
      assert.ok(families.has(name), `${name} is exported`);
    }
    assert.equal(families.get("http_request_duration_seconds")?.type, "histogram");
    for (const mark of marks) assert.ok(!text.includes(mark), `no label carries ${mark}`);
    const routes = new Set(
      families.get("http_requests_total")!.samples.map((s) => s.labels.route),
    );
    for (const route of routes) {
      assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}/.test(route), `route label ${route} is a template`);
    }
    const generated = families.get("image_generations_total")!.samples;
    assert.ok(generated.some((s) => s.labels.outcome === "success" && s.value === 1));
  });
});

Deno.test("two processes sharing one KV file never admit more generations than IMAGE_GENERATION_RATE_LIMIT", async () => {
  const limit = 5;
  const attempts = 16;
  const dataDir = await Deno.makeTempDir({ prefix: "http-e2e-shared-" });
  await using fake = await startFakeOpenAI({ latencyMs: 200 });
  const env = {
    DATA_DIR: dataDir,
    KV_PATH: `${dataDir}/kv.sqlite3`,
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    OPENAI_MAX_RETRIES: "0",
    MCP_AUTH_TOKEN: ADMIN,
    IMAGE_GENERATION_RATE_LIMIT: String(limit),
    MAX_INFLIGHT_PER_KEY: "0",
    REQUEST_RATE_LIMIT: "10000/1m",
  };
  const servers: HttpServerProcess[] = [];
  try {
    servers.push(await startHttpServer(env), await startHttpServer(env));
    const statuses = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        call(servers[i % 2], "/mcp", {
          token: ADMIN,
          body: { prompt: `shared limit ${i}`, quality: "low" },
        }).then((r) => r.status)),
    );
    const admitted = statuses.filter((s) => s === 200).length;
    assert.equal(admitted, limit, `statuses: ${statuses.join(" ")}`);
    assert.equal(statuses.filter((s) => s === 429).length, attempts - limit);
    assert.equal(fake.stats.imagesProduced, limit);
    assert.equal(await catalogCount(servers[0]), limit);
    assert.equal(await catalogCount(servers[1]), limit);
  } catch (error) {
    for (const server of servers) console.error(`--- ${server.url} ---\n${server.stderr()}`);
    throw error;
  } finally {
    for (const server of servers) await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
