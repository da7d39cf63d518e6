/**
 * Hostile input against the HTTP app, property-based: the whole app (`createHttpApp`) over the real
 * services (`createServices` with an in-memory KV and an upstream stub), driven in-process with
 * `app.request()`. REST and /v1 bodies of any shape, raw bytes that are not JSON or not UTF-8,
 * path traversal on `/images`, auth bypass attempts, tampered and expired signed URLs, spoofed
 * Origin and Host on `/mcp`, oversized bodies and prompts, absurd `n`: never a 5xx, never a crash
 * or an unhandled rejection, never a success without the credential, never a byte from outside
 * the image folder.
 *
 * The seed is printed; replay a failure with FC_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { createApiKey, revokeApiKey } from "../../src/auth/mod.ts";
import { systemClock } from "../../src/clock.ts";
import { type Config, resolveConfig } from "../../src/config.ts";
import { ERROR_KINDS } from "../../src/errors.ts";
import type { FetchLike } from "../../src/generation/openai.ts";
import { createHttpApp } from "../../src/app/http_app.ts";
import type { HttpApp } from "../../src/http/app.ts";
import { UrlSigner } from "../../src/images/urls.ts";
import { createMetrics } from "../../src/metrics.ts";
import { createServices, type Services } from "../../src/services.ts";
import { renderImage } from "../fake_openai/render.ts";
import { INITIALIZE } from "../e2e/support/mcp_http.ts";
import { manualClock } from "../support/pinned_time.ts";

const SEED = Number(Deno.env.get("FC_SEED") ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fast-check seed: ${SEED} (replay with FC_SEED=${SEED})`);
/** Runs per property (FC_RUNS overrides, e.g. for a long soak). */
const RUNS = Number(Deno.env.get("FC_RUNS") ?? 500);

const KEY = "sk-fuzz-upstream-key-0123456789abcdef";
const TOKEN = "fuzz-admin-token-4f1c9e";
const SECRET_MARKER = "TOPSECRET-FUZZ-7d1e";

// ---- unhandled rejections are failures -----------------------------------------------------

const unhandled: unknown[] = [];
globalThis.addEventListener("unhandledrejection", (event) => {
  unhandled.push(event.reason);
  event.preventDefault();
});

function assertNoUnhandled(): void {
  assert.deepEqual(unhandled.map(String), [], "unhandled promise rejections");
}

// ---- an upstream stub answering tiny images fast (JSON and SSE) ----------------------------

const TINY = {
  png: await renderImage("fuzz", { width: 16, height: 16 }),
  jpeg: await renderImage("fuzz", { width: 16, height: 16, format: "jpeg" }),
  webp: await renderImage("fuzz", { width: 16, height: 16, format: "webp" }),
};

/** A fetch for the OpenAI SDK that answers every images call with n tiny images. */
function stubUpstream(): FetchLike {
  return async (input, init) => {
    const request = new Request(input, init);
    const edit = new URL(request.url).pathname.endsWith("/edits");
    const fields: Record<string, unknown> = {};
    if (edit) {
      for (const [name, value] of await request.formData()) {
        if (typeof value === "string") fields[name] = value;
      }
    } else {
      Object.assign(fields, await request.json());
    }
    const format = (["png", "jpeg", "webp"] as const).find((f) => f === fields.output_format) ??
      "png";
    const b64 = TINY[format].toBase64();
    const n = Math.max(1, Math.min(10, Number(fields.n ?? 1) || 1));
    const common = { size: "16x16", quality: "low", background: "opaque", output_format: format };
    if (fields.stream === true || fields.stream === "true") {
      const prefix = edit ? "image_edit" : "image_generation";
      let text = "";
      for (let i = 0; i < n; i++) {
        for (
          const [type, extra] of [
            [`${prefix}.partial_image`, { partial_image_index: 0 }],
            [`${prefix}.completed`, {
              usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
            }],
          ] as const
        ) {
          const data = { type, b64_json: b64, created_at: 1, ...common, ...extra };
          text += `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
        }
      }
      return new Response(text, { headers: { "content-type": "text/event-stream" } });
    }
    return Response.json({
      created: 1,
      data: Array.from({ length: n }, () => ({ b64_json: b64 })),
      ...common,
      usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
    });
  };
}

// ---- the app under test ----------------------------------------------------------------------

interface FuzzApp extends AsyncDisposable {
  readonly app: HttpApp;
  readonly dir: string;
  readonly config: Config;
  readonly services: Services;
  readonly kv: Deno.Kv;
  /** Moves the app's clock. */
  advance(ms: number): void;
  /** Sends a request as from 198.51.100.7. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

async function startFuzzApp(env: Record<string, string> = {}): Promise<FuzzApp> {
  const dir = await Deno.makeTempDir({ prefix: "fuzz-http-" });
  const clock = manualClock(systemClock());
  const now = clock.now;
  const config = resolveConfig({
    env: {
      OPENAI_API_KEY: KEY,
      OPENAI_MAX_RETRIES: "0",
      DATA_DIR: dir,
      OUTPUT_DIR: join(dir, "images"),
      KV_PATH: ":memory:",
      IMAGE_GENERATION_RATE_LIMIT: "100000000",
      REQUEST_RATE_LIMIT: "100000000/1m",
      MAX_INFLIGHT_PER_KEY: "0",
      LOG_LEVEL: "error",
      ...env,
    },
    dotenv: {},
    flags: {},
    os: "linux",
    cwd: dir,
  });
  const kv = await Deno.openKv(":memory:");
  const services = await createServices(config, {
    door: "http",
    kv,
    now,
    skipStartupReconcile: true,
    fetch: stubUpstream(),
    resolveDns: () => Promise.resolve(["10.0.0.1"]),
    inputFetch: () => Promise.reject(new Error("URL inputs must not be fetched here")),
    metrics: createMetrics({ defaultMetrics: false, now }),
  });
  // The whole app as src/http_door.ts serves it: the gallery and /mcp behind the same edge guard.
  const http = createHttpApp(services, { now });
  const { app } = http;
  return {
    app,
    dir,
    config,
    services,
    kv,
    advance: clock.advance,
    request: (path, init) =>
      Promise.resolve(
        app.request(path, init, {
          remoteAddr: { hostname: "198.51.100.7", port: 40000, transport: "tcp" },
        }),
      ),
    async [Symbol.asyncDispose]() {
      await services.drain();
      await http[Symbol.asyncDispose]();
      await services.close();
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

// ---- arbitraries -------------------------------------------------------------------------------

const MODELS = [
  "gpt-image-2",
  "gpt-image-2.5-flare",
  "gpt-image-2.6-sunburst",
  "gpt-image-1",
  "gpt-image-1.5",
  "dall-e-3",
  "dall-e-2",
  "GPT-IMAGE-2",
  "",
];

const wild = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 2 ** 53, "", " ", "\u0000", "\ud800"),
);

const prompt = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 120 }) },
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.constantFrom(
    "",
    "   ",
    "\u0000",
    "\ud800\udfff\ud800",
    "x".repeat(32_000),
    "y".repeat(32_001),
  ),
  wild,
);

const size = fc.oneof(
  fc.constantFrom("1024x1024", "1536x1024", "1024x1536", "auto", "256x256", "1792x1024"),
  fc.constantFrom("0x0", "-16x16", "16x16", "99999x99999", "1024X1024", " 1024x1024 ", "3840x2160"),
  fc.tuple(fc.integer({ min: -64, max: 5000 }), fc.integer({ min: -64, max: 5000 }))
    .map(([w, h]) => `${w}x${h}`),
  fc.string({ maxLength: 12 }),
  wild,
);

const n = fc.oneof(
  fc.integer({ min: -3, max: 12 }),
  fc.constantFrom(0, 1e9, -1, 1.5, 2 ** 53, 2 ** 31, "2", "ten", true, null, [] as unknown[]),
  fc.double(),
);

const enumish = (values: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...values) },
    fc.string({ maxLength: 10 }),
    wild,
  );

/** A body close to a real generation request, with any field possibly wrong. */
const generationBody = fc.record({
  prompt,
  model: fc.oneof(fc.constantFrom(...MODELS), fc.string({ maxLength: 30 }), wild),
  size,
  quality: enumish(["low", "medium", "high", "auto", "standard", "hd", "xhigh", "max"]),
  n,
  style: enumish(["vivid", "natural"]),
  save: fc.oneof(fc.boolean(), wild),
  response_format: enumish(["url", "b64_json"]),
  output_format: enumish(["png", "jpeg", "webp", "gif"]),
  output_compression: fc.oneof(fc.integer({ min: -10, max: 110 }), wild),
  background: enumish(["transparent", "opaque", "auto"]),
  moderation: enumish(["low", "auto"]),
  partial_images: fc.oneof(fc.integer({ min: -1, max: 4 }), wild),
  stream: fc.oneof(fc.boolean(), wild),
  user: fc.oneof(fc.string({ maxLength: 20 }), wild),
}, { requiredKeys: [] });

/** A request that should succeed. */
const validBody = fc.record({
  prompt: fc.string({ minLength: 1, maxLength: 100 }).filter((p) => p.trim() !== ""),
  model: fc.constantFrom("gpt-image-2", "gpt-image-2.5-flare", "dall-e-3", "gpt-image-1"),
  size: fc.constantFrom("1024x1024", "auto", "256x256", "1536x1024"),
  quality: fc.constantFrom("low", "medium", "high", "auto"),
  n: fc.integer({ min: 1, max: 3 }),
  save: fc.boolean(),
  output_format: fc.constantFrom("png", "jpeg", "webp"),
}, { requiredKeys: ["prompt"] });

const FIELDS = [
  "prompt",
  "model",
  "size",
  "quality",
  "n",
  "style",
  "save",
  "response_format",
  "output_format",
  "output_compression",
  "background",
  "moderation",
  "partial_images",
  "stream",
  "user",
];

/**
 * Any JSON body: a valid request, a valid request with one field made wild, a near-request with
 * any field possibly wrong (and junk keys), or any JSON value at all.
 */
const anyJsonBody = fc.oneof(
  { weight: 3, arbitrary: validBody },
  {
    weight: 4,
    arbitrary: fc.tuple(validBody, fc.constantFrom(...FIELDS), wild).map(([body, key, value]) => ({
      ...body,
      [key]: value,
    })),
  },
  { weight: 3, arbitrary: generationBody },
  fc.tuple(generationBody, fc.dictionary(fc.string({ maxLength: 12 }), wild, { maxKeys: 4 }))
    .map(([a, b]) => ({ ...b, ...a })),
  fc.jsonValue(),
);

/** Bytes that are not a well-formed JSON object: text, broken UTF-8, truncated JSON. */
const rawBody = fc.oneof(
  fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s)),
  fc.uint8Array({ maxLength: 200 }),
  fc.tuple(
    fc.constantFrom('{"prompt":"', '{"prompt":"ok","n":', "[", '{"a":'),
    fc.uint8Array({
      maxLength: 40,
    }),
  )
    .map(([head, tail]) => new Uint8Array([...new TextEncoder().encode(head), ...tail])),
  fc.constantFrom(
    new Uint8Array([0x7b, 0x22, 0x70, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]),
    new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
    new Uint8Array([0xed, 0xa0, 0x80]),
    new Uint8Array(0),
  ),
);

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "text/plain",
  "multipart/form-data; boundary=xyz",
  "multipart/form-data",
  "application/x-www-form-urlencoded",
  "",
);

// ---- response checks ---------------------------------------------------------------------------

const KINDS = new Set<string>(ERROR_KINDS);

/** Reads the whole response and checks the documented shape of its family; returns the text. */
async function checkResponse(response: Response, family: "rest" | "v1", what: string) {
  const text = await response.text();
  assert.ok(response.status < 500, `${what}: HTTP ${response.status} ${text.slice(0, 300)}`);
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("text/event-stream")) {
    assert.doesNotMatch(text, /"code":"(internal|server_error|storage)"/, `${what}: ${text}`);
    return text;
  }
  assert.match(type, /application\/json/, `${what}: content type ${type}`);
  const body = JSON.parse(text);
  if (response.status >= 400) {
    if (family === "rest") {
      assert.equal(body.success, false, what);
      assert.equal(typeof body.error, "string", what);
      assert.ok(KINDS.has(body.code), `${what}: code ${body.code}`);
      assert.notEqual(body.code, "internal", `${what}: ${text}`);
    } else {
      assert.equal(typeof body.error?.message, "string", `${what}: ${text}`);
      assert.notEqual(body.error.code, "internal", `${what}: ${text}`);
    }
  }
  return text;
}

const PARAMS = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

// ---- properties ---------------------------------------------------------------------------------

Deno.test("POST /mcp (REST) answers any JSON body without a 5xx, in the predecessor's shape", async () => {
  await using t = await startFuzzApp();
  const statuses = new Set<number>();
  await fc.assert(
    fc.asyncProperty(anyJsonBody, async (body) => {
      const response = await t.request("/mcp", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      statuses.add(response.status);
      await checkResponse(response, "rest", `POST /mcp ${JSON.stringify(body).slice(0, 200)}`);
    }),
    PARAMS,
  );
  assert.ok(statuses.has(200) && statuses.has(400), `both outcomes seen: ${[...statuses]}`);
  assertNoUnhandled();
});

Deno.test("POST /v1/images/generations answers any JSON body without a 5xx, streamed or not", async () => {
  await using t = await startFuzzApp();
  const statuses = new Set<number>();
  await fc.assert(
    fc.asyncProperty(anyJsonBody, async (body) => {
      const response = await t.request("/v1/images/generations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      statuses.add(response.status);
      await checkResponse(response, "v1", `POST /v1 ${JSON.stringify(body).slice(0, 200)}`);
    }),
    PARAMS,
  );
  assert.ok(statuses.has(200) && statuses.has(400), `both outcomes seen: ${[...statuses]}`);
  assertNoUnhandled();
});

Deno.test("bodies that are not JSON, not UTF-8 or mislabelled are refused, never a 5xx", async () => {
  await using t = await startFuzzApp();
  const route = fc.constantFrom(
    ["/mcp", "rest"] as const,
    ["/v1/images/generations", "v1"] as const,
    ["/v1/images/edits", "v1"] as const,
    ["/admin/keys", "rest"] as const,
    ["/admin/images/cleanup", "rest"] as const,
  );
  await fc.assert(
    fc.asyncProperty(route, rawBody, contentType, async ([path, family], bytes, type) => {
      const response = await t.request(path, {
        method: "POST",
        headers: type === "" ? {} : { "Content-Type": type },
        body: bytes,
      });
      await checkResponse(response, family, `POST ${path} (${type}) ${bytes.length} bytes`);
    }),
    PARAMS,
  );
  assertNoUnhandled();
});

Deno.test({
  name: "a JSON route given another media type answers a client error, not a 500",
  async fn() {
    await using t = await startFuzzApp();
    for (const [path, family] of [["/admin/keys", "rest"], ["/v1/images/generations", "v1"]]) {
      for (const type of ["application/x-www-form-urlencoded", "text/plain", ""]) {
        const response = await t.request(path, {
          method: "POST",
          headers: type === "" ? {} : { "Content-Type": type },
          body: '{"prompt":"a cat","name":"k"}',
        });
        await checkResponse(response, family as "rest" | "v1", `POST ${path} (${type})`);
      }
    }
  },
});

Deno.test("list queries with long, odd or hostile values answer a client error or a page, never a 5xx", async () => {
  await using t = await startFuzzApp();
  // Query values become KV key parts (model, creator filters) and cursors: any length, any text.
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ minLength: 1_000, maxLength: 3_000 }),
    fc.constantFrom("", "0", "-1", "101", "1e9", "null", "gpt-image-2", "\u0000", "%00"),
  );
  const query = fc.dictionary(fc.constantFrom("model", "limit", "after", "creator", "q"), value);
  await fc.assert(
    fc.asyncProperty(query, async (params) => {
      const search = new URLSearchParams(params).toString();
      const response = await t.request(`/v1/images?${search}`);
      await checkResponse(response, "v1", `GET /v1/images?${search.slice(0, 200)}`);
    }),
    PARAMS,
  );
  assertNoUnhandled();
});

Deno.test("multipart edits with hostile fields and files are refused cleanly or succeed", async () => {
  await using t = await startFuzzApp();
  await using _outside = await writeOutsideFiles(t.dir);
  const file = fc.oneof(
    fc.constant(TINY.png),
    fc.constant(TINY.webp),
    fc.uint8Array({ maxLength: 64 }),
    fc.constant(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>")),
  );
  const reference = fc.oneof(
    fc.constantFrom(
      "../secret.png",
      "/etc/passwd",
      "file:///etc/passwd",
      `${t.dir}/secret.png`,
      "http://169.254.169.254/latest/meta-data/",
      "http://127.0.0.1:1/x.png",
      "image://../../secret",
      "data:image/png;base64,AAAA",
    ),
    fc.string({ maxLength: 30 }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(file, reference), { minLength: 0, maxLength: 3 }),
      fc.option(file),
      prompt,
      fc.dictionary(
        fc.constantFrom("n", "size", "quality", "model", "input_fidelity"),
        fc.string({
          maxLength: 10,
        }),
      ),
      async (images, mask, text, extra) => {
        const form = new FormData();
        if (typeof text === "string") form.set("prompt", text);
        for (const image of images) {
          if (typeof image === "string") form.append("image[]", image);
          else form.append("image[]", new Blob([image as Uint8Array<ArrayBuffer>]), "in.png");
        }
        if (mask) form.set("mask", new Blob([mask as Uint8Array<ArrayBuffer>]), "mask.png");
        for (const [name, value] of Object.entries(extra)) form.set(name, value);
        const response = await t.request("/v1/images/edits", { method: "POST", body: form });
        const body = await checkResponse(response, "v1", `edit ${images.length} images`);
        assert.ok(!body.includes(SECRET_MARKER), "an outside file leaked into the answer");
      },
    ),
    { ...PARAMS, numRuns: Math.ceil(RUNS / 2) },
  );
  assertNoUnhandled();
});

/** Files outside the image folder whose bytes must never be served (a PNG header + marker). */
async function writeOutsideFiles(dir: string): Promise<AsyncDisposable> {
  const secret = new Uint8Array([...TINY.png, ...new TextEncoder().encode(SECRET_MARKER)]);
  await Deno.writeFile(join(dir, "secret.png"), secret);
  await Deno.mkdir(join(dir, "images-evil"), { recursive: true });
  await Deno.writeFile(join(dir, "images-evil", "x.png"), secret);
  await Deno.mkdir(join(dir, "images"), { recursive: true });
  await Deno.symlink(join(dir, "secret.png"), join(dir, "images", "link.png")).catch(() => {});
  return { [Symbol.asyncDispose]: () => Promise.resolve() };
}

Deno.test("path traversal on /images, /v1/images/{id} and thumbnails never reaches outside files", async () => {
  await using t = await startFuzzApp();
  await using _outside = await writeOutsideFiles(t.dir);
  const made = await t.request("/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: "a real one" }),
  });
  assert.equal(made.status, 200);
  const real = (await made.json()).data as { id: string; imageUrl: string };
  const realName = real.imageUrl.split("/").pop()!;
  const segment = fc.constantFrom(
    "..",
    ".",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2e.",
    "..%2f",
    "..%5c",
    "%2f",
    "%5c",
    "..\\",
    "%00",
    "%252e%252e",
    "..;",
    "",
    "~",
    "secret.png",
    "images-evil",
    "x.png",
    "link.png",
    "etc",
    "passwd",
    "images",
    "thumb",
    realName,
    real.id,
    `${real.id}.thumb.webp`,
    `.${realName}.tmp`,
  );
  const joiner = fc.constantFrom("/", "%2f", "%2F", "\\", "%5c", "/./");
  const path = fc.tuple(
    fc.constantFrom("/images/", "/v1/images/", "/images//", "/v1/images/%2e%2e/"),
    fc.array(segment, { minLength: 1, maxLength: 5 }),
    joiner,
    fc.constantFrom("", "/thumb", "?exp=1&sig=x", "#frag", "/"),
  ).map(([head, segments, join, tail]) => `${head}${segments.join(join)}${tail}`);
  const method = fc.constantFrom("GET", "HEAD", "DELETE");
  await fc.assert(
    fc.asyncProperty(path, method, async (target, verb) => {
      const isOwn = verb === "DELETE" && target.includes(real.id);
      if (isOwn) return; // deleting the real image would only make later cases weaker
      const response = await t.request(target, { method: verb });
      const bytes = new Uint8Array(await response.arrayBuffer());
      assert.ok(response.status < 500, `${verb} ${target}: HTTP ${response.status}`);
      const text = new TextDecoder().decode(bytes);
      assert.ok(!text.includes(SECRET_MARKER), `${verb} ${target} served an outside file`);
      assert.ok(!text.includes("root:x:0:0"), `${verb} ${target} served /etc/passwd`);
    }),
    PARAMS,
  );
  for (const name of ["secret.png", join("images-evil", "x.png")]) {
    assert.ok((await Deno.stat(join(t.dir, name))).isFile, `${name} survived every DELETE`);
  }
  assertNoUnhandled();
});

Deno.test("no protected route succeeds without a valid credential of the needed role, and a lockout never refuses one", async () => {
  await using t = await startFuzzApp({ MCP_AUTH_TOKEN: TOKEN });
  const user = await createApiKey(t.kv, { name: "fuzz-user", role: "user", now: systemClock });
  const admin = await createApiKey(t.kv, { name: "fuzz-admin", role: "admin", now: systemClock });
  const revoked = await createApiKey(t.kv, {
    name: "fuzz-revoked",
    role: "admin",
    now: systemClock,
  });
  await revokeApiKey(t.kv, revoked.record.id, { now: systemClock });
  const roleOf = new Map([[TOKEN, "admin"], [user.key, "user"], [admin.key, "admin"]]);
  const credential = fc.constantFrom(TOKEN, user.key, admin.key, revoked.key);
  const mutated = fc.oneof(
    credential,
    credential.chain((c) =>
      fc.oneof(
        fc.constant(c.toUpperCase()),
        fc.constant(c.slice(0, -1)),
        fc.constant(`${c}x`),
        fc.constant(`${c}${c}`),
        fc.nat({ max: c.length - 1 }).map((i) =>
          `${c.slice(0, i)}${c[i] === "a" ? "b" : "a"}${c.slice(i + 1)}`
        ),
        fc.constant(c.slice(0, 8)),
      )
    ),
    fc.string({ maxLength: 40 }),
  );
  const header = fc.oneof(
    fc.constant(undefined),
    fc.tuple(
      fc.constantFrom("Bearer", "bearer", "BEARER", "Basic", "Token", "Bearer\t", "", "Bearer:"),
      fc.constantFrom(" ", "  ", "\t", ""),
      mutated,
      fc.constantFrom("", " ", "\t", " extra", ","),
    ).map(([scheme, gap, token, tail]) => `${scheme}${gap}${token}${tail}`),
    fc.string({ maxLength: 60 }),
  );
  const route = fc.constantFrom(
    { method: "GET", path: "/admin/metrics", role: "admin", family: "rest" },
    { method: "GET", path: "/admin/images/stats", role: "admin", family: "rest" },
    { method: "GET", path: "/admin/keys", role: "admin", family: "rest" },
    { method: "POST", path: "/admin/images/cleanup", role: "admin", family: "rest" },
    { method: "GET", path: "/v1/images", role: "user", family: "v1" },
    { method: "GET", path: "/v1/models", role: "user", family: "v1" },
    { method: "GET", path: "/mcp", role: "user", family: "rest" },
  );
  await fc.assert(
    fc.asyncProperty(route, header, async (r, value) => {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      let sent: string | undefined;
      try {
        if (value !== undefined) headers.Authorization = value;
        sent = value === undefined ? undefined : new Headers(headers).get("authorization")!;
      } catch {
        return; // not a valid header value at all: fetch would refuse to send it
      }
      const response = await t.request(r.path, {
        method: r.method,
        headers,
        ...(r.method === "POST" ? { body: JSON.stringify({ dryRun: true }) } : {}),
      });
      await checkResponse(response, r.family as "rest" | "v1", `${r.method} ${r.path}`);
      const parts = (sent ?? "").trim().split(/\s+/);
      const exact = parts.length === 2 && /^bearer$/i.test(parts[0]) ? parts[1] : undefined;
      const role = exact === undefined ? undefined : roleOf.get(exact);
      const allowed = role === "admin" || role === r.role;
      if (response.status < 400) {
        assert.ok(allowed, `${r.method} ${r.path} let ${JSON.stringify(sent)} in`);
      } else if (allowed) {
        assert.fail(`${r.method} ${r.path} refused a valid ${role} credential: ${response.status}`);
      } else if (role === "user") {
        assert.equal(response.status, 403, "a valid key lacking the role");
      } else if (response.status === 429) {
        // The address has spent its failed credentials (AUTH_FAILURE_LIMIT): a lockout, which
        // the valid credentials above still pass.
        assert.ok(Number(response.headers.get("retry-after")) > 0, `${r.path}: Retry-After`);
      } else {
        assert.ok([401, 403].includes(response.status), `${r.path}: ${response.status}`);
      }
    }),
    PARAMS,
  );
  assertNoUnhandled();
});

/** True when two base64url texts decode to the same bytes. */
function sameBytes(a: string, b: string): boolean {
  try {
    const x = Uint8Array.fromBase64(a, { alphabet: "base64url" });
    const y = Uint8Array.fromBase64(b, { alphabet: "base64url" });
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  } catch {
    return false;
  }
}

Deno.test("signed image URLs: only the exact, unexpired signature opens an image", async () => {
  await using t = await startFuzzApp({ IMAGES_PUBLIC: "false", IMAGE_URL_TTL_S: "600" });
  const made = await t.request("/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: "a signed one" }),
  });
  assert.equal(made.status, 200, await made.clone().text());
  const url = new URL((await made.json()).data.imageUrl as string);
  const exp = url.searchParams.get("exp")!;
  const sig = url.searchParams.get("sig")!;
  assert.ok(exp && sig, `a signed URL: ${url}`);
  const good = await t.request(`${url.pathname}${url.search}`);
  assert.equal(good.status, 200, "the genuine signed URL works");
  await good.body?.cancel();
  const signer = new UrlSigner(t.kv, { now: systemClock, ttlSeconds: 600 });
  const otherPath = `${url.pathname}/thumb`;
  const otherSigned = new URLSearchParams(await signer.sign(otherPath));

  const flip = (text: string) =>
    fc.nat({ max: text.length - 1 }).chain((i) =>
      fc.constantFrom("A", "b", "-", "_", "0").filter((ch) => ch !== text[i]).map((ch) =>
        `${text.slice(0, i)}${ch}${text.slice(i + 1)}`
      )
    );
  const variant = fc.oneof(
    flip(sig).map((s) => ({ path: url.pathname, exp, sig: s })),
    fc.integer({ min: -1e10, max: 1e12 }).filter((e) => String(e) !== exp).map((e) => ({
      path: url.pathname,
      exp: String(e),
      sig,
    })),
    fc.constantFrom("", "%00", "==", sig.toUpperCase(), sig + sig).filter((s) => s !== sig).map((
      s,
    ) => ({ path: url.pathname, exp, sig: s })),
    fc.constant({
      path: url.pathname,
      exp: otherSigned.get("exp")!,
      sig: otherSigned.get("sig")!,
    }),
    fc.constant({ path: otherPath, exp, sig }),
    fc.constant({ path: url.pathname, exp: `${exp}.0`, sig }),
    fc.constant({ path: url.pathname, exp: `0${exp}`, sig }),
  );
  await fc.assert(
    fc.asyncProperty(variant, async (v) => {
      const query = new URLSearchParams({ exp: v.exp, sig: v.sig });
      const response = await t.request(`${v.path}?${query}`);
      await response.body?.cancel();
      // Base64 ignores the spare low bits of the last character: a spelling that decodes to the
      // same 32 bytes is the same signature, not a forgery.
      if (v.path === url.pathname && v.exp === exp && sameBytes(v.sig, sig)) {
        assert.equal(response.status, 200, `${v.path}?${query}`);
        return;
      }
      assert.ok(
        [401, 403, 404].includes(response.status),
        `${v.path}?${query}: HTTP ${response.status}`,
      );
    }),
    PARAMS,
  );
  t.advance(601_000);
  const expired = await t.request(`${url.pathname}${url.search}`);
  await expired.body?.cancel();
  assert.ok([401, 403].includes(expired.status), `expired: HTTP ${expired.status}`);
  assertNoUnhandled();
});

Deno.test("MCP on /mcp refuses any Origin or Host that is not loopback (DNS rebinding)", async () => {
  await using t = await startFuzzApp();
  const host = fc.oneof(
    fc.constantFrom(
      "localhost",
      "127.0.0.1",
      "[::1]",
      "127.0.0.1.evil.test",
      "localhost.evil.test",
      "evil.test",
      "10.0.0.1",
      "169.254.169.254",
      "0.0.0.0",
      "[::ffff:127.0.0.1]",
      "LOCALHOST",
      "2130706433",
      "0x7f.1",
    ),
    fc.domain(),
  );
  const origin = fc.oneof(
    fc.constant(undefined),
    fc.tuple(fc.constantFrom("http", "https", "ws", "file"), host, fc.option(fc.nat(65535)))
      .map(([scheme, h, port]) => `${scheme}://${h}${port === null ? "" : `:${port}`}`),
    fc.constantFrom("null", "", "http://evil.test#127.0.0.1", "http://127.0.0.1@evil.test"),
    fc.string({ maxLength: 30 }),
  );
  const hostHeader = fc.oneof(
    fc.constant(undefined),
    fc.tuple(host, fc.option(fc.nat(65535))).map(([h, port]) =>
      `${h}${port === null ? "" : `:${port}`}`
    ),
  );
  const initialize = JSON.stringify(INITIALIZE);
  await fc.assert(
    fc.asyncProperty(origin, hostHeader, async (o, h) => {
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      };
      try {
        if (o !== undefined) new Headers({ Origin: o });
      } catch {
        return;
      }
      if (o !== undefined) headers.Origin = o;
      let requestUrl: URL;
      try {
        requestUrl = new URL(`http://${h ?? "localhost"}/mcp`);
      } catch {
        return;
      }
      // What Deno.serve puts in the Host header; app.request() would not send one by itself.
      if (h !== undefined) headers.Host = h;
      const response = await t.request(requestUrl.href, {
        method: "POST",
        headers,
        body: initialize,
      });
      await response.body?.cancel();
      assert.ok(response.status < 500, `Origin ${o} Host ${h}: HTTP ${response.status}`);
      // Origin: a page served from a loopback name, serialized as a browser sends it (http or
      // https, canonical, no default port) — never a name that merely starts like one. Host: the
      // loopback names as a client writes them (no other spelling of 127.0.0.1).
      let originOk = true;
      if (o !== undefined) {
        try {
          const parsed = new URL(o);
          originOk = (parsed.protocol === "http:" || parsed.protocol === "https:") &&
            parsed.origin === o.toLowerCase() && isLoopbackHostName(parsed.hostname);
        } catch {
          originOk = false;
        }
      }
      const hostName = (h ?? "localhost").toLowerCase().replace(/:\d+$/, "");
      const hostOk = isLoopbackHostName(hostName);
      if (originOk && hostOk) {
        assert.equal(response.status, 200, `Origin ${o} Host ${requestUrl.host} was refused`);
      } else {
        assert.equal(response.status, 403, `Origin ${o} Host ${requestUrl.host} got through`);
      }
    }),
    PARAMS,
  );
  assertNoUnhandled();
});

// ---- the edge: hosts, origins, Sec-Fetch-Site, media types and body sizes on every route ------

/** Cases of the edge property (FC_RUNS raises it). */
const EDGE_RUNS = Math.max(10_000, RUNS);

/** The edge's own refusals, by the start of their messages. */
const EDGE_REFUSAL =
  /^(Host "|Origin "|Cross-site request refused|Unsupported Content-Type "|Request body too large: this route)/;

/** The message of an error answer in any of the app's shapes (REST, OpenAI, JSON-RPC). */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === "string") return body.error;
    if (typeof body?.error?.message === "string") return body.error.message;
  } catch {
    // Not JSON: a page or a stream, not an edge refusal.
  }
  return "";
}

/** A body of `size` bytes in pieces of at most `piece` bytes, with no declared length. */
function chunkedBody(size: number, piece: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(piece, size - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(0x7b));
    },
  });
}

/** Canonical loopback names, as a client writes them (the model, written apart from the code). */
function isLoopbackHostName(name: string): boolean {
  const n = name.toLowerCase();
  if (n === "localhost" || n === "[::1]") return true;
  const parts = n.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((part) => /^\d{1,3}$/.test(part) && String(Number(part)) === part && +part <= 255);
}

Deno.test({
  name:
    "the edge: hostile Host, Origin, Sec-Fetch-Site, media types and chunked bodies on every route get the edge's 4xx, never a 5xx",
  async fn() {
    const limits = { json: 2048, upload: 8192 };
    await using t = await startFuzzApp({
      MAX_BODY_BYTES: String(limits.json),
      MAX_UPLOAD_BYTES: String(limits.upload),
    });
    const classOf = (path: string) => {
      const p = decodeURIComponent(path.split("?")[0]);
      if (p === "/v1/images/edits" || /^\/gallery\/[^/]+\/edit$/.test(p)) return "upload";
      if (/^\/(generate|login|logout|gallery\/[^/]+\/delete|jobs\/[^/]+\/cancel)$/.test(p)) {
        return "form";
      }
      return "json";
    };
    const accepts = (kind: string, type: string) => {
      const json = type === "application/json" || /^application\/[\w.+-]+\+json$/.test(type);
      const form = type === "application/x-www-form-urlencoded" || type === "multipart/form-data";
      return type === "" || (kind === "json" ? json : kind === "form" ? form : json || form);
    };
    const path = fc.constantFrom(
      "/mcp",
      "/v1/images/generations",
      "/v1/images/edits",
      "/v1/images/%65dits",
      "/v1/images/0190c0de-0000-7000-8000-000000000000",
      "/admin/images/cleanup",
      "/admin/keys",
      "/metrics",
      "/health",
      "/%68ealth",
      "/ready",
      "/",
      "/login",
      "/%6cogin",
      "/logout",
      "/generate",
      "/gallery/0190c0de-0000-7000-8000-000000000000/delete",
      "/gallery/0190c0de-0000-7000-8000-000000000000/edit",
      "/jobs/0190c0de-0000-7000-8000-000000000000/cancel",
      "/no/such/route",
      "/images/x.png",
    );
    const method = fc.constantFrom(
      "POST",
      "POST",
      "POST",
      "PUT",
      "PATCH",
      "DELETE",
      "OPTIONS",
      "GET",
    );
    const hostName = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom("localhost", "127.0.0.1", "[::1]", "LOCALHOST", "127.1.2.3"),
      },
      fc.constantFrom(
        "rebind.attacker.example",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "evil.example",
        "0.0.0.0",
        "10.0.0.1",
        "2130706433",
        "0x7f.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "127.000.000.001",
      ),
      fc.domain(),
    );
    const host = fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      fc.tuple(hostName, fc.option(fc.integer({ min: 1, max: 65535 }))).map(([h, port]) =>
        port === null ? h : `${h}:${port}`
      ),
      fc.constantFrom("", "localhost:abc", "localhost@evil.example", "evil.example/localhost"),
    );
    const origin = fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      fc.tuple(
        fc.constantFrom("http", "https", "HTTP", "ws", "file", "chrome-extension"),
        hostName,
        fc.option(fc.integer({ min: 1, max: 65535 })),
        fc.constantFrom("", "", "/", "/path", "#x"),
      ).map(([scheme, h, port, tail]) =>
        `${scheme}://${h}${port === null ? "" : `:${port}`}${tail}`
      ),
      fc.constantFrom(
        "null",
        "",
        "http://127.0.0.1.evil.example",
        "http://127.0.0.1@evil.example",
        "http://evil.example#127.0.0.1",
        "http://localhost:3000, http://evil.example",
      ),
      fc.string({ maxLength: 24 }),
    );
    const site = fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      fc.constantFrom("same-origin", "same-site", "cross-site", "none", "CROSS-SITE", "junk"),
    );
    const type = fc.oneof(
      fc.constantFrom(
        undefined,
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/merge-patch+json",
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "text/html",
        "application/xml",
        "application/json, text/plain",
        ";",
      ),
      fc.string({ maxLength: 16 }),
    );
    const size = fc.oneof(
      fc.constantFrom(0, 2, 16),
      fc.integer({ min: 0, max: 600 }),
      fc.constantFrom(limits.json, limits.json + 1, limits.upload, limits.upload + 1),
      fc.integer({ min: limits.upload + 1, max: limits.upload * 3 }),
    );
    const delivery = fc.constantFrom("none", "bytes", "declared", "chunked");
    const piece = fc.integer({ min: 1, max: 4096 });
    await fc.assert(
      fc.asyncProperty(
        fc.record({ path, method, host, origin, site, type, size, delivery, piece }),
        async (r) => {
          const headers = new Headers();
          try {
            if (r.origin !== undefined) headers.set("Origin", r.origin);
            if (r.site !== undefined) headers.set("Sec-Fetch-Site", r.site);
            if (r.type !== undefined) headers.set("Content-Type", r.type);
            if (r.host !== undefined) headers.set("Host", r.host);
          } catch {
            return; // not a header value a client could send
          }
          const sendsBody = r.delivery !== "none" && r.method !== "GET";
          let body: BodyInit | undefined;
          if (sendsBody) {
            body = r.delivery === "chunked"
              ? chunkedBody(r.size, r.piece)
              : new Uint8Array(r.size).fill(0x7b);
            if (r.delivery === "declared") headers.set("Content-Length", String(r.size));
          }
          let target: string;
          try {
            target = new URL(r.path, `http://${r.host ?? "localhost"}`).href;
          } catch {
            target = `http://localhost${r.path}`;
          }
          const what =
            `${r.method} ${r.path} Host ${r.host} Origin ${r.origin} Sec-Fetch-Site ${r.site} ` +
            `Content-Type ${r.type} ${r.size} bytes ${sendsBody ? r.delivery : "none"}`;
          const response = await t.request(target, {
            method: r.method,
            headers,
            ...(body === undefined ? {} : { body, duplex: "half" } as RequestInit),
          });
          const text = await response.text();
          assert.ok(
            response.status < 500,
            `${what}: HTTP ${response.status} ${text.slice(0, 200)}`,
          );
          const message = errorMessage(text);

          // The model, in the edge's order: Host, then (for writes) Origin and Sec-Fetch-Site,
          // then the media type, then the size.
          const hostHeader = r.host ?? "localhost";
          const hostName = /^\[[^\]]*\]|^[^:]*/.exec(hostHeader)![0];
          const hostOk = decodeURIComponent(r.path) === "/health" ||
            (/^(\[[^\]]*\]|[^:]*)(:\d*)?$/.test(hostHeader) && isLoopbackHostName(hostName));
          let expected: RegExp | null = null;
          let status = 0;
          if (!hostOk) [expected, status] = [/^Host "/, 403];
          else if (!["GET", "HEAD", "OPTIONS"].includes(r.method)) {
            let originOk = r.origin === undefined;
            if (r.origin !== undefined) {
              try {
                const url = new URL(r.origin);
                originOk = (url.protocol === "http:" || url.protocol === "https:") &&
                  // The serialized origin, in any case, with at most a trailing slash.
                  url.origin === r.origin.toLowerCase().replace(/\/$/, "") &&
                  // A loopback page, or the origin the request's own Host names (on /health,
                  // where any Host is accepted, that can be another name).
                  (isLoopbackHostName(url.hostname) ||
                    url.origin === URL.parse(`http://${hostHeader}`)?.origin);
              } catch {
                originOk = false;
              }
            }
            const hasBody = sendsBody && !(r.delivery === "declared" && r.size === 0);
            const kind = classOf(r.path);
            const mediaType = (r.type ?? "").split(";")[0].trim().toLowerCase();
            const limit = kind === "upload" && mediaType === "multipart/form-data"
              ? limits.upload
              : limits.json;
            if (!originOk) [expected, status] = [/^Origin "/, 403];
            else if (
              r.origin === undefined && (r.site === "cross-site" || r.site === "same-site")
            ) {
              [expected, status] = [/^Cross-site request refused/, 403];
            } else if (hasBody && !accepts(kind, mediaType)) {
              [expected, status] = [/^Unsupported Content-Type "/, 400];
            } else if (hasBody && r.size > limit) {
              [expected, status] = [/^Request body too large: this route/, 413];
            }
          }
          if (expected !== null) {
            assert.equal(response.status, status, `${what}: ${text.slice(0, 200)}`);
            assert.match(message, expected, `${what}: ${text.slice(0, 200)}`);
          } else {
            assert.doesNotMatch(message, EDGE_REFUSAL, `${what}: refused by the edge`);
          }
        },
      ),
      { ...PARAMS, numRuns: EDGE_RUNS },
    );
    assertNoUnhandled();
  },
});

Deno.test("prompt length, body size and n are refused past their limits and accepted within", async () => {
  await using t = await startFuzzApp({ MAX_BODY_BYTES: "65536" });
  const limitOfN = 10;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.integer({ min: 31_990, max: 32_010 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constant(60_000),
      ),
      fc.oneof(fc.integer({ min: -2, max: 14 }), fc.constantFrom(1e6, 2 ** 31, -(2 ** 31))),
      fc.constantFrom("/mcp", "/v1/images/generations"),
      async (length, count, path) => {
        const body = JSON.stringify({ prompt: "p".repeat(length), n: count, save: false });
        const response = await t.request(path, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body,
        });
        const family = path === "/mcp" ? "rest" : "v1";
        const text = await checkResponse(response, family, `prompt ${length} n ${count}`);
        if (body.length > 65_536) {
          assert.equal(response.status, 413, `a ${body.length}-byte body: ${text.slice(0, 200)}`);
        } else if (length > 32_000 || count < 1 || count > limitOfN) {
          assert.equal(response.status, 400, `prompt ${length} n ${count}: ${text.slice(0, 200)}`);
        } else {
          assert.equal(response.status, 200, `prompt ${length} n ${count}: ${text.slice(0, 200)}`);
        }
      },
    ),
    { ...PARAMS, numRuns: Math.ceil(RUNS / 3) },
  );
  const huge = await t.request("/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: new Uint8Array(5 * 1024 * 1024).fill(0x20),
  });
  assert.equal(huge.status, 413);
  await huge.body?.cancel();
  assertNoUnhandled();
});
