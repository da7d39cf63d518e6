/**
 * Tracing end to end: the real HTTP service started with Deno's built-in OpenTelemetry
 * (`OTEL_DENO=true`, OTLP over HTTP with JSON) exports the spans of src/tracing.ts to a loopback
 * OTLP receiver — the upstream call, storage, catalog listing and rate limiting, with model, size
 * and outcome attributes — and never the prompt, the API key or the bearer token.
 */
import assert from "node:assert/strict";
import { ERROR_KINDS, errorKindInfo } from "../../src/errors.ts";
import { createMetrics } from "../../src/metrics.ts";
import { startFakeOpenAI } from "../fake_openai.ts";
import { startHttpServer } from "./support/http_server.ts";
import { eventually } from "../support/eventually.ts";

const API_KEY = "sk-tracing-openai-key-7f3a9c1e5b";
const TOKEN = "mcp-tracing-bearer-token-c0ffee42d1";
const PROMPT_WORD = "zanzibarquokka";
/** Every span src/tracing.ts is used for. */
const SPANS = [
  "ratelimit.check",
  "openai.images.generate",
  "openai.images.edit",
  "images.store",
  "catalog.list",
];

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number };
};
type TracesBody = {
  resourceSpans?: { scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[];
};

/** A loopback OTLP/HTTP receiver keeping every body it was sent (JSON traces parsed). */
function startReceiver() {
  const raw: string[] = [];
  const spans: (OtlpSpan & { scope: string })[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      const text = await request.text();
      raw.push(text);
      if (request.method === "POST" && path === "/v1/traces") {
        const body = JSON.parse(text) as TracesBody;
        for (const resource of body.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({ ...span, scope: scope.scope?.name ?? "" });
            }
          }
        }
      }
      return Response.json({});
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    raw,
    spans,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function attributes(span: OtlpSpan): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of span.attributes ?? []) {
    out[key] = value.stringValue ?? value.doubleValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.boolValue ?? JSON.stringify(value);
  }
  return out;
}

Deno.test("OTEL_DENO exports spans of the upstream call, storage, catalog and limits without prompts or secrets", async () => {
  await using receiver = startReceiver();
  await using fake = await startFakeOpenAI();
  const server = await startHttpServer({
    OPENAI_API_KEY: API_KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_MAX_RETRIES: "0",
    MCP_AUTH_TOKEN: TOKEN,
    IMAGE_GENERATION_RATE_LIMIT: "3",
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "imagegen-tracing-test",
    OTEL_BSP_SCHEDULE_DELAY: "200",
  });
  try {
    const auth = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
    const generate = (prompt: string, n = 1) =>
      fetch(`${server.url}/v1/images/generations`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ prompt, n, size: "1024x1536", quality: "low" }),
      });
    const ok = await generate(`a ${PROMPT_WORD} on a bicycle`);
    assert.equal(ok.status, 200, await ok.clone().text());
    await ok.body?.cancel();
    const blocked = await generate(`a ${PROMPT_WORD} [fault:moderation]`);
    assert.equal(blocked.status, 400);
    await blocked.body?.cancel();
    const refused = await generate(`${PROMPT_WORD} times three`, 3);
    assert.equal(refused.status, 429, await refused.clone().text());
    await refused.body?.cancel();
    const listed = await fetch(`${server.url}/v1/images?limit=5`, { headers: auth });
    assert.equal(listed.status, 200);
    await listed.body?.cancel();

    const named = (name: string) => receiver.spans.filter((s) => s.name === name);
    await eventually(
      () =>
        named("openai.images.generate").length >= 2 && named("images.store").length >= 1 &&
        named("catalog.list").length >= 1 && named("ratelimit.check").length >= 3,
      "the spans to reach the OTLP receiver",
      20_000,
    );

    const upstream = named("openai.images.generate").map(attributes);
    const succeeded = upstream.find((a) => a.outcome === "ok");
    assert.ok(succeeded, JSON.stringify(upstream));
    assert.equal(succeeded["gen_ai.request.model"], "gpt-image-2");
    assert.equal(succeeded["gen_ai.operation.name"], "image_generation");
    assert.equal(succeeded["image.size"], "1024x1536");
    assert.equal(succeeded["image.quality"], "low");
    assert.equal(succeeded["image.n"], 1);
    assert.equal(succeeded["image.count"], 1);
    const failed = upstream.find((a) => a.outcome === "error");
    assert.equal(failed?.["error.type"], "moderation_blocked");
    assert.ok(
      named("openai.images.generate").some((s) => s.status?.code === 2),
      "the failed call has an error status",
    );

    const store = attributes(named("images.store")[0]);
    assert.equal(store.outcome, "ok");
    assert.equal(store["image.store"], "fs");
    assert.equal(store["image.count"], 1);
    assert.ok(Number(store["image.bytes"]) > 0);

    const limits = named("ratelimit.check").map(attributes);
    assert.ok(limits.some((a) => a.outcome === "ok" && a.door === "v1"));
    const refusal = limits.find((a) => a.outcome === "error");
    assert.equal(refusal?.["error.type"], "rate_limited");
    assert.equal(refusal?.["ratelimit.limit"], "generation");

    const list = attributes(named("catalog.list")[0]);
    assert.equal(list.outcome, "ok");
    assert.ok(Number(list["catalog.limit"]) >= 5, "the page size asked for");
    assert.equal(list["catalog.items"], 1);

    // The spans of one request belong to one trace, under Deno's own HTTP server span.
    const call = named("openai.images.generate").find((s) => attributes(s).outcome === "ok")!;
    const sameTrace = receiver.spans.filter((s) => s.traceId === call.traceId).map((s) => s.name);
    assert.ok(sameTrace.includes("ratelimit.check"), sameTrace.join(", "));
    assert.ok(sameTrace.includes("images.store"), sameTrace.join(", "));
    assert.ok(call.parentSpanId, "the upstream span has a parent");
    assert.ok(
      receiver.spans.every((s) => s.scope !== "openai-image-generation" || s.name.includes(".")),
    );

    const everything = receiver.raw.join("\n");
    for (const secret of [PROMPT_WORD, API_KEY, TOKEN]) {
      assert.ok(!everything.includes(secret), `the exported telemetry contains ${secret}`);
    }
  } finally {
    const code = await server.stop();
    if (code !== 0) console.error(server.stderr());
  }
});

Deno.test("docs/observability.md names every metric, span and error kind as the code has them", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/observability.md", import.meta.url));
  const metrics = createMetrics({ defaultMetrics: false });
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.length > 10);
  for (const name of names) assert.ok(doc.includes(`\`${name}\``), `metric ${name} is documented`);
  for (const span of SPANS) assert.ok(doc.includes(`\`${span}\``), `span ${span} is documented`);
  for (const kind of ERROR_KINDS) {
    const { status, exitCode } = errorKindInfo(kind);
    const row = new RegExp(`^\\| \`${kind}\` +\\| ${status} +\\| ${exitCode} +\\|`, "m");
    assert.match(doc, row, `error kind ${kind} with status ${status} and exit code ${exitCode}`);
  }
});
