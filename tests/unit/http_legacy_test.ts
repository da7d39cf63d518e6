import assert from "node:assert/strict";
import type { Context } from "hono";
import { AppError } from "../../src/errors.ts";
import type { HttpEnv } from "../../src/http/app.ts";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { json, startRealTestApp, startTestApp } from "../support/http_app.ts";

Deno.test("GET /health answers the predecessor's {status: ok} plus the version", async () => {
  await using t = await startTestApp();
  const res = await t.request("/health");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(typeof body.version, "string");
});

Deno.test("GET /mcp describes generate_image with the JSON Schema of the POST body", async () => {
  await using t = await startTestApp();
  const res = await t.request("/mcp");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.name, "generate_image");
  assert.equal(typeof body.description, "string");
  assert.equal(body.parameters.type, "object");
  assert.deepEqual(body.parameters.required, ["prompt"]);
  for (
    const field of ["prompt", "model", "size", "quality", "style", "n", "save", "response_format"]
  ) {
    assert.ok(field in body.parameters.properties, `parameters list ${field}`);
  }
  assert.equal(body.parameters.properties.n.maximum, 10);
});

Deno.test("POST /mcp saves all n images and answers data as the first image plus images", async () => {
  await using t = await startTestApp();
  const res = await t.request("/mcp", json({ prompt: "a lighthouse", n: 3, size: "1024x1024" }));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.success, true);
  assert.equal(body.data.images.length, 3);
  assert.equal(t.images.size, 3);
  const [call] = t.images.calls;
  assert.equal(call.input.save, true, "save defaults to true");
  assert.equal(call.input.n, 3);
  assert.equal(call.options.door, "http");
  for (const image of body.data.images) {
    const record = t.images.store.get(image.id)?.record ?? null;
    assert.ok(record, "every answered image is stored");
    assert.equal(image.imageUrl, `http://localhost/images/${record.fileName}`);
    assert.equal(image.url, image.imageUrl);
    assert.equal(image.filePath, record.fileName, "relative to OUTPUT_DIR, never absolute");
  }
  const first = body.data.images[0];
  assert.deepEqual(
    {
      url: body.data.url,
      revised_prompt: body.data.revised_prompt,
      filePath: body.data.filePath,
      imageUrl: body.data.imageUrl,
    },
    {
      url: first.url,
      revised_prompt: "revised: a lighthouse",
      filePath: first.filePath,
      imageUrl: first.imageUrl,
    },
  );
});

Deno.test("POST /mcp with response_format b64_json includes each image's bytes", async () => {
  await using t = await startTestApp();
  const res = await t.request("/mcp", json({ prompt: "a cat", response_format: "b64_json" }));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(Uint8Array.fromBase64(body.data.b64_json), TINY_PNG);
  assert.equal(t.images.calls[0].input.response_format, undefined, "not passed to the core");
});

Deno.test("POST /mcp passes warnings of translated legacy options along", async () => {
  await using t = await startTestApp();
  const res = await t.request("/mcp", json({ prompt: "a cat", style: "vivid" }));
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).warnings, ["style is ignored by gpt-image-2"]);
});

Deno.test("POST /mcp refuses bad input with 400 {success:false, error, field} and stores nothing", async () => {
  await using t = await startTestApp();
  const cases: [unknown, string][] = [
    [{ n: 2 }, "prompt"],
    [{ prompt: "" }, "prompt"],
    [{ prompt: "x", n: 11 }, "n"],
    [{ prompt: "x", n: 1.5 }, "n"],
    [{ prompt: "x", save: "yes" }, "save"],
    [{ prompt: "x", size: "huge" }, "size"],
  ];
  for (const [input, field] of cases) {
    const res = await t.request("/mcp", json(input));
    assert.equal(res.status, 400, JSON.stringify(input));
    const body = await res.json();
    assert.equal(body.success, false);
    assert.equal(body.field, field, JSON.stringify(input));
    assert.equal(typeof body.error, "string");
  }
  assert.equal(t.images.size, 0);
});

Deno.test("POST /mcp answers 400 for malformed JSON", async () => {
  await using t = await startTestApp();
  const res = await t.request("/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{prompt: nope",
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.success, false);
  assert.match(body.error, /Malformed JSON/);
  assert.equal(t.images.calls.length, 0);
});

Deno.test("POST /mcp from an MCP client with a body that is not JSON is JSON-RPC's parse error", async () => {
  await using t = await startTestApp();
  const res = await t.request("/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: '{"jsonrpc":',
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(
    body.error.code,
    -32700,
    "parse error, as on stdio (-32600 is for JSON that is no request)",
  );
  assert.match(body.error.message, /Malformed JSON/);
  assert.equal(body.id, null);
});

Deno.test("POST /mcp maps upstream failures to real status codes with {success:false, error}", async () => {
  await using t = await startTestApp({ env: { IMAGE_GENERATION_RATE_LIMIT: "0" } });
  const cases: [AppError, number][] = [
    [new AppError("upstream_rate_limited", "OpenAI rate limit", { retryAfterSeconds: 30 }), 429],
    [new AppError("moderation_blocked", "Blocked by moderation"), 400],
    [new AppError("upstream_unavailable", "OpenAI is unavailable"), 502],
    [new AppError("upstream_timeout", "OpenAI timed out"), 504],
    [new AppError("upstream_auth", "OpenAI refused the API key"), 502],
    [new AppError("missing_api_key", "OPENAI_API_KEY is not set"), 503],
    [new AppError("internal", "Internal error: see the server log for details"), 500],
  ];
  for (const [error, status] of cases) {
    t.images.failNext = error;
    const res = await t.request("/mcp", json({ prompt: "a cat" }));
    assert.equal(res.status, status, error.kind);
    const body = await res.json();
    assert.equal(body.success, false);
    assert.equal(body.error, error.message);
    assert.equal(body.code, error.kind);
    if (error.kind === "upstream_rate_limited") {
      assert.equal(res.headers.get("Retry-After"), "30");
      assert.equal(body.retryAfter, 30);
    }
  }
  assert.equal(t.images.size, 0);
});

Deno.test("POST /mcp hands JSON-RPC bodies to the mounted MCP handler with the parsed body", async () => {
  const seen: { method: string; body: unknown; principal: string }[] = [];
  const mcpHandler = (c: Context<HttpEnv>) => {
    seen.push({
      method: c.req.method,
      body: c.get("parsedBody"),
      principal: c.get("principal").id,
    });
    return Promise.resolve(c.json({ jsonrpc: "2.0", id: 1, result: {} }));
  };
  await using t = await startTestApp({ deps: { mcpHandler } });
  const message = { jsonrpc: "2.0", id: 1, method: "initialize", params: {} };
  const res = await t.request("/mcp", json(message));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { jsonrpc: "2.0", id: 1, result: {} });
  assert.ok(res.headers.get("RateLimit"), "MCP traffic is counted by the request limit");
  const batch = [{ jsonrpc: "2.0", method: "notifications/initialized" }];
  assert.equal((await t.request("/mcp", json(batch))).status, 200);
  const stream = await t.request("/mcp", { headers: { Accept: "text/event-stream" } });
  assert.equal(stream.status, 200);
  await stream.body?.cancel();
  const del = await t.request("/mcp", { method: "DELETE" });
  assert.equal(del.status, 200);
  await del.body?.cancel();
  assert.deepEqual(seen.map((s) => s.method), ["POST", "POST", "GET", "DELETE"]);
  assert.deepEqual(seen[0].body, message);
  assert.deepEqual(seen[1].body, batch);
  assert.equal(seen[0].principal, "ip:127.0.0.1");

  // The predecessor's requests still reach the REST API.
  assert.equal((await (await t.request("/mcp")).json()).name, "generate_image");
  assert.equal((await t.request("/mcp", json({ prompt: "a cat" }))).status, 200);
  assert.equal(seen.length, 4);
});

Deno.test("POST /mcp with JSON-RPC answers a JSON-RPC 404 when MCP over HTTP is off", async () => {
  await using t = await startTestApp();
  const res = await t.request("/mcp", json({ jsonrpc: "2.0", id: 1, method: "initialize" }));
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.id, null);
  assert.equal(typeof body.error.message, "string");
  assert.equal(t.images.calls.length, 0);
});

Deno.test("GET /metrics serves Prometheus text with route templates, not raw paths", async () => {
  await using t = await startTestApp();
  const record = await t.images.seed();
  await (await t.request(`/images/${record.fileName}`)).arrayBuffer();
  await (await t.request("/images/nothing-here.png")).arrayBuffer();
  const res = await t.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/plain/);
  const text = await res.text();
  assert.match(text, /http_requests_total\{method="GET",route="\/images\/:file",status="200"\} 1/);
  assert.match(text, /http_requests_total\{method="GET",route="\/images\/:file",status="404"\} 1/);
  assert.doesNotMatch(text, new RegExp(record.id), "no raw paths in labels");
  assert.match(text, /process_uptime_seconds/);
});

Deno.test("generation outcomes are counted by model, outcome and door", async () => {
  // The core records them, so this runs the real core against the fake upstream.
  await using t = await startRealTestApp({ env: { OPENAI_TIMEOUT_MS: "1000" } });
  await (await t.request("/mcp", json({ prompt: "a cat", quality: "low" }))).arrayBuffer();
  const late = await t.request("/mcp", json({ prompt: "a cat [fault:hang]", quality: "low" }));
  assert.equal(late.status, 504);
  await late.arrayBuffer();
  const text = await t.metrics.metricsText();
  assert.match(
    text,
    /image_generations_total\{model="gpt-image-2",outcome="success",door="http"\} 1/,
  );
  assert.match(
    text,
    /image_generations_total\{model="gpt-image-2",outcome="error",door="http"\} 1/,
  );
  assert.match(text, /image_generation_errors_total\{kind="upstream_timeout"\} 1/);
  assert.match(text, /upstream_errors_total\{kind="upstream_timeout"\} 1/);
  assert.match(text, /generations_in_flight 0/);
});
