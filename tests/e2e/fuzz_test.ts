/**
 * Hostile input over real sockets against the real HTTP service process
 * (`deno run -P=http src/main_http.ts`): raw HTTP requests that a fetch client would normalise
 * away (dot segments, encoded slashes, backslashes, absolute-form targets) aimed at files outside
 * the image folder; malformed request lines, headers and bodies; random JSON-RPC traffic on
 * `/mcp`; bodies far over the limit without a Content-Length. The service answers each with a
 * client error, never a 5xx and never a byte of another file, and is healthy afterwards.
 *
 * The seed is printed; replay a failure with FC_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { startFakeOpenAI } from "../fake_openai.ts";
import { type HttpServerProcess, startHttpServer } from "./support/http_server.ts";
import { raw, statusOf } from "./support/raw_http.ts";

const SEED = Number(Deno.env.get("FC_SEED") ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fast-check seed: ${SEED} (replay with FC_SEED=${SEED})`);
const RUNS = Number(Deno.env.get("FC_RUNS") ?? 300);
const PARAMS = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

const MARKER = "OUTSIDE-IMAGES-3a9f";
const encoder = new TextEncoder();

async function withService(fn: (server: HttpServerProcess) => Promise<void>): Promise<void> {
  await using fake = await startFakeOpenAI();
  const server = await startHttpServer({
    OPENAI_API_KEY: "sk-fuzz-e2e-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_MAX_RETRIES: "0",
    REQUEST_RATE_LIMIT: "1000000/1m",
    IMAGE_GENERATION_RATE_LIMIT: "100000",
    MAX_BODY_BYTES: "262144",
  });
  try {
    await Deno.writeTextFile(join(server.dataDir, "secret.png"), MARKER);
    await fn(server);
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200, "healthy afterwards");
    await health.body?.cancel();
    assert.doesNotMatch(server.stderr(), /Uncaught|"level":"FATAL"/);
  } catch (error) {
    console.error(`--- server stderr (tail) ---\n${server.stderr().slice(-4000)}`);
    throw error;
  } finally {
    await server.stop();
  }
}

Deno.test("raw traversal requests never reach files outside the image folder", async () => {
  await withService(async (server) => {
    const made = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "a real image", size: "1024x1024", quality: "low" }),
    });
    assert.equal(made.status, 200);
    const name = ((await made.json()).data.imageUrl as string).split("/").pop()!;
    const ownImage = await raw(
      server,
      `GET /images/${name} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(statusOf(ownImage), 200, "the real image is served");

    const segment = fc.constantFrom(
      "..",
      "%2e%2e",
      "%2E%2e",
      ".%2e",
      "..%2f..",
      "..%5c..",
      "..\\..",
      "....//",
      "%252e%252e",
      "%c0%ae%c0%ae",
      "..%00",
      ".",
      "secret.png",
      "kv.sqlite3",
      "etc",
      "passwd",
      "images",
      name,
    );
    const target = fc.tuple(
      fc.constantFrom(
        "/images/",
        "/images/x/",
        "/v1/images/",
        "/static/",
        "http://127.0.0.1/images/",
        "//images/",
      ),
      fc.array(segment, { minLength: 1, maxLength: 6 }),
      fc.constantFrom("/", "%2f", "\\", "%5c"),
      fc.constantFrom("", "/thumb", "?x=1", "#f"),
    ).map(([head, parts, sep, tail]) => `${head}${parts.join(sep)}${tail}`);
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom("GET", "HEAD", "DELETE"), async (path, method) => {
        const answer = await raw(
          server,
          `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
        );
        const status = statusOf(answer);
        assert.ok(status === 0 || status < 500, `${method} ${path}: ${answer.slice(0, 200)}`);
        assert.ok(!answer.includes(MARKER), `${method} ${path} served secret.png`);
        assert.ok(!answer.includes("SQLite format 3"), `${method} ${path} served the KV file`);
        assert.ok(!answer.includes("root:x:0:0"), `${method} ${path} served /etc/passwd`);
      }),
      PARAMS,
    );
    assert.ok((await Deno.stat(join(server.dataDir, "secret.png"))).isFile);
  });
});

Deno.test("malformed request lines, headers and bodies get a client error or a closed socket", async () => {
  await withService(async (server) => {
    const token = fc.stringMatching(/^[!-~]{0,20}$/);
    const headerValue = fc.oneof(
      fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)),
      fc.uint8Array({ maxLength: 20 }).map((b) =>
        String.fromCharCode(...b.filter((x) => x !== 10 && x !== 13))
      ),
    );
    const request = fc.tuple(
      fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW", "G\u00c9T"),
      fc.constantFrom("/mcp", "/v1/images/generations", "/admin/keys", "/images/x.png", "*", ""),
      fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", ""),
      fc.array(fc.tuple(token, headerValue), { maxLength: 4 }),
      fc.constantFrom(
        "application/json",
        "multipart/form-data; boundary=b",
        "text/plain",
        "",
      ),
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.string({ maxLength: 300 }).map((s) => encoder.encode(s)),
      ),
      fc.constantFrom("exact", "short", "long", "none", "chunked"),
    ).map(([method, path, version, headers, type, body, length]) => {
      const lines = [`${method} ${path} ${version}`, "Host: 127.0.0.1", "Connection: close"];
      for (const [name, value] of headers) lines.push(`${name}: ${value}`);
      if (type) lines.push(`Content-Type: ${type}`);
      if (length === "exact") lines.push(`Content-Length: ${body.length}`);
      if (length === "short") lines.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
      if (length === "long") lines.push(`Content-Length: ${body.length + 10}`);
      const head = encoder.encode(`${lines.join("\r\n")}\r\n\r\n`);
      if (length !== "chunked") return new Uint8Array([...head, ...body]);
      const chunked = encoder.encode(`${lines.join("\r\n")}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const size = encoder.encode(`${body.length.toString(16)}\r\n`);
      return new Uint8Array([...chunked, ...size, ...body, ...encoder.encode("\r\n0\r\n\r\n")]);
    });
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(request, async (bytes) => {
        const answer = await raw(server, bytes);
        const status = statusOf(answer);
        seen.add(status);
        assert.ok(
          status === 0 || status < 500,
          `${new TextDecoder().decode(bytes.slice(0, 120))} → ${answer.slice(0, 300)}`,
        );
      }),
      { ...PARAMS, numRuns: Math.ceil(RUNS / 2) },
    );
    assert.ok([...seen].some((s) => s >= 400), `some requests were answered: ${[...seen]}`);
  });
});

Deno.test("random JSON-RPC traffic on /mcp never gets a 5xx", async () => {
  await withService(async (server) => {
    const wild = fc.jsonValue({ maxDepth: 3 });
    const message = fc.record({
      jsonrpc: fc.oneof({ weight: 4, arbitrary: fc.constant("2.0") }, wild),
      id: fc.oneof(
        fc.integer(),
        fc.string({ maxLength: 8 }),
        fc.string({ minLength: 129, maxLength: 6_000 }),
        fc.constant(null),
        wild,
      ),
      method: fc.oneof(
        fc.constantFrom(
          "initialize",
          "tools/list",
          "tools/call",
          "resources/list",
          "resources/read",
          "resources/templates/list",
          "prompts/list",
          "prompts/get",
          "logging/setLevel",
          "notifications/initialized",
          "notifications/cancelled",
          "ping",
          "completion/complete",
        ),
        fc.string({ maxLength: 20 }),
      ),
      params: fc.oneof(
        wild,
        fc.record({
          name: fc.constantFrom("generate_image", "get_image", "list_images", "nope"),
          arguments: fc.oneof(
            fc.dictionary(fc.constantFrom("prompt", "id", "n", "size", "limit"), wild),
            wild,
          ),
        }),
        fc.record({ uri: fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 })) }),
      ),
    }, { requiredKeys: ["jsonrpc"] });
    const body = fc.oneof(
      { weight: 4, arbitrary: message },
      fc.array(message, { minLength: 1, maxLength: 3 }),
      // Batches that hold things other than messages (numbers, null, arrays).
      fc.array(fc.oneof(message, wild), { minLength: 1, maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("2025-06-18", "2025-11-25", "1999-01-01", ""), async (
        payload,
        version,
      ) => {
        const response = await fetch(`${server.url}/mcp`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json, text/event-stream",
            ...(version ? { "MCP-Protocol-Version": version } : {}),
          },
          body: JSON.stringify(payload),
        });
        const text = await response.text();
        assert.ok(response.status < 500, `${JSON.stringify(payload)} → ${response.status} ${text}`);
      }),
      { ...PARAMS, numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

Deno.test("a body far over the limit is refused with 413 whether or not its length is announced", async () => {
  await withService(async (server) => {
    const big = new Uint8Array(4 * 1024 * 1024).fill(0x61);
    for (const path of ["/mcp", "/v1/images/generations", "/v1/images/edits"]) {
      const announced = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: big,
      });
      assert.equal(announced.status, 413, `${path} with Content-Length`);
      await announced.body?.cancel();
      const streamed = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: ReadableStream.from((function* () {
          for (let i = 0; i < 64; i++) yield big.subarray(0, 64 * 1024);
        })()),
      });
      assert.equal(streamed.status, 413, `${path} chunked`);
      await streamed.body?.cancel();
    }
    const prompt = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "p".repeat(100_000) }),
    });
    assert.equal(prompt.status, 400);
    assert.match((await prompt.json()).error, /prompt/i);
  });
});
