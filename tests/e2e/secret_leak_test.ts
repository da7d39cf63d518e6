/**
 * Secrets never leave the process: the HTTP service, the stdio server and the CLI run with
 * distinctive secrets (OPENAI_API_KEY, MCP_AUTH_TOKEN, an API key made through /admin/keys) and
 * debug logging; every door is driven through successes and failures — the upstream rejecting
 * the key (also an upstream that echoes the key back in its error), wrong and malformed tokens,
 * a key sent where it does not belong, validation errors — and then every captured byte (stderr,
 * stdout, response headers and bodies, /metrics, /admin/metrics, tool results) is searched for
 * each secret and for its random part. The one place a secret may appear is the answer that
 * creates an API key, which shows it once.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { runCli, tempDataDir } from "./support/cli.ts";
import { spawnHttpService } from "./support/http_server.ts";
import { startStdioServer } from "./support/mcp_client.ts";

/** A distinctive random part, so a secret is recognisable even when cut or re-prefixed. */
function randomPart(): string {
  return crypto.getRandomValues(new Uint8Array(12)).toHex();
}

const OPENAI_KEY = `sk-leakcheck-${randomPart()}`;
const AUTH_TOKEN = `tok-leakcheck-${randomPart()}`;

/** Everything captured from one door, labelled for the assertion message. */
class Capture {
  readonly parts: { label: string; text: string }[] = [];
  add(label: string, text: string): void {
    this.parts.push({ label, text });
  }
  /** Records a response: status, every header and the body. */
  async response(label: string, response: Response): Promise<string> {
    const body = await response.text();
    const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
    this.add(label, `${response.status}\n${headers}\n\n${body}`);
    return body;
  }
  /** Fails when any secret (or its random tail) occurs anywhere. */
  assertClean(secrets: readonly string[]): void {
    for (const secret of secrets) {
      const tail = secret.slice(-16);
      for (const { label, text } of this.parts) {
        assert.ok(
          !text.includes(tail),
          `${label} contains a secret (…${tail}):\n${excerpt(text, tail)}`,
        );
      }
    }
  }
}

function excerpt(text: string, needle: string): string {
  const at = text.indexOf(needle);
  return text.slice(Math.max(0, at - 200), at + needle.length + 100);
}

Deno.test("no key or token appears in the HTTP service's logs, answers or metrics", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir("leak-http-");
  const capture = new Capture();
  const server = await spawnHttpService({
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_MAX_RETRIES: "0",
    MCP_AUTH_TOKEN: AUTH_TOKEN,
    LOG_LEVEL: "debug",
    LOG_FORMAT: "json",
  }, { dataDir: dir.path });
  let apiKey = "";
  try {
    const send = (label: string, path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, init).then((r) => capture.response(label, r));
    const json = (token: string, body: unknown, method = "POST"): RequestInit => ({
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });

    // The one answer allowed to hold a secret: it shows the new key once. Not captured.
    const created = await fetch(`${server.url}/admin/keys`, json(AUTH_TOKEN, { name: "leak" }));
    assert.equal(created.status, 201);
    apiKey = (await created.json()).key;
    assert.ok(apiKey.length > 16);

    const prompt = (text: string) => ({ prompt: text, size: "1024x1024", quality: "low" });
    await send("REST success", "/mcp", json(AUTH_TOKEN, prompt("a kettle")));
    await send("/v1 success", "/v1/images/generations", json(apiKey, prompt("a teapot")));
    await send("REST upstream 401", "/mcp", json(AUTH_TOKEN, prompt("x [fault:unauthorized]")));
    await send(
      "/v1 upstream 401",
      "/v1/images/generations",
      json(apiKey, prompt("[fault:unauthorized]")),
    );
    await send(
      "/v1 upstream 500",
      "/v1/images/generations",
      json(apiKey, prompt("[fault:server_error]")),
    );
    await send(
      "/v1 streamed 401",
      "/v1/images/generations",
      json(apiKey, {
        ...prompt("[fault:unauthorized]"),
        stream: true,
        partial_images: 1,
      }),
    );
    await send("REST validation", "/mcp", json(AUTH_TOKEN, { prompt: "x", size: "13x13", n: 99 }));
    await send("/v1 validation", "/v1/images/generations", json(apiKey, { prompt: "" }));
    for (
      const [label, value] of [
        ["token + x", `Bearer ${AUTH_TOKEN}x`],
        ["key typo", `Bearer ${apiKey.slice(0, -1)}Z`],
        ["basic", `Basic ${btoa(`user:${AUTH_TOKEN}`)}`],
        ["token without scheme", AUTH_TOKEN],
        ["key with space", `Bearer ${apiKey} ${apiKey}`],
      ]
    ) {
      const headers = { Authorization: value, "Content-Type": "application/json" };
      await send(`bad auth (${label}) REST`, "/mcp", {
        method: "POST",
        headers,
        body: JSON.stringify(prompt("y")),
      });
      await send(`bad auth (${label}) /v1`, "/v1/images", { headers });
      await send(`bad auth (${label}) admin`, "/admin/metrics", { headers });
    }
    await send("key in the query", `/v1/images?api_key=${apiKey}&token=${AUTH_TOKEN}`);
    await send(
      // The answer may quote the caller's own field back; the server's logs still must not.
      "caller's own text",
      "/mcp",
      json(AUTH_TOKEN, { prompt: "z", model: apiKey, size: apiKey, quality: AUTH_TOKEN }),
    );
    await send("MCP initialize, wrong token", "/mcp", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${AUTH_TOKEN}-not`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
    });
    await send("/metrics", "/metrics", { headers: { Authorization: `Bearer ${AUTH_TOKEN}` } });
    await send("/admin/metrics", "/admin/metrics", {
      headers: { Authorization: `Bearer ${AUTH_TOKEN}` },
    });
    await send("/admin/keys", "/admin/keys", {
      headers: { Authorization: `Bearer ${AUTH_TOKEN}` },
    });
    await send("/admin/usage", "/admin/usage", {
      headers: { Authorization: `Bearer ${AUTH_TOKEN}` },
    });
    await send("/openapi.json", "/openapi.json");
  } finally {
    await server.stop();
  }
  const checked = new Capture();
  for (const part of capture.parts) {
    if (part.label !== "caller's own text") checked.add(part.label, part.text);
  }
  checked.add("stderr", server.stderr());
  checked.add("stdout", server.stdout());
  assert.match(server.stderr(), /"level":"DEBUG"/, "debug logging was on");
  assert.match(server.stderr(), /upstream_auth/, "the upstream 401 was logged");
  checked.assertClean([OPENAI_KEY, AUTH_TOKEN, apiKey]);
});

Deno.test({
  name: "no key appears in the stdio server's results or logs, even when the upstream echoes it",
  // The SDK's stdio client leaves an unref'd kill timer behind on close, by design.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: stdioLeakCheck,
});

async function stdioLeakCheck(): Promise<void> {
  // An upstream that, like some OpenAI-compatible gateways, quotes the key it refused in full.
  const echo = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const key = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
    return Response.json({
      error: {
        message: `Incorrect API key provided: ${key}. Also tried ${key.slice(3)}.`,
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    }, { status: 401, headers: { "x-echo-key": key } });
  });
  const capture = new Capture();
  try {
    await using session = await startStdioServer({
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: `http://127.0.0.1:${echo.addr.port}/v1`,
      OPENAI_MAX_RETRIES: "0",
      LOG_LEVEL: "debug",
    });
    const calls: [string, Record<string, unknown>][] = [
      ["generate_image", { prompt: "a lamp" }],
      ["generate_image", { prompt: "a lamp", size: OPENAI_KEY }],
      ["edit_image", { prompt: "x", images: [`/tmp/${OPENAI_KEY}.png`] }],
      ["get_image", { id: OPENAI_KEY }],
      ["list_models", {}],
    ];
    for (const [name, args] of calls) {
      const result = await session.client.callTool({ name, arguments: args });
      // A refusal may quote the caller's own argument back; that is not the server leaking.
      const quotesCaller = JSON.stringify(args).includes(OPENAI_KEY);
      capture.add(quotesCaller ? "caller's own text" : `${name} result`, JSON.stringify(result));
    }
    const first = JSON.parse(capture.parts[0].text);
    assert.equal(first.isError, true);
    assert.match(first.content[0].text, /upstream_auth/);
    capture.add("stderr", session.stderr());
  } finally {
    await echo.shutdown();
  }
  const checked = new Capture();
  for (const part of capture.parts) {
    if (part.label !== "caller's own text") checked.add(part.label, part.text);
  }
  checked.assertClean([OPENAI_KEY]);
}

Deno.test("no key appears in the CLI's output when the upstream refuses it", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir("leak-cli-");
  const env = {
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_MAX_RETRIES: "0",
    LOG_LEVEL: "debug",
    LOG_FORMAT: "json",
  };
  const capture = new Capture();
  for (
    const args of [
      ["generate", "a [fault:unauthorized] chair", "--json"],
      ["generate", "a [fault:unauthorized] chair"],
      ["config", "check"],
      ["config", "check", "--json"],
    ]
  ) {
    const run = await runCli(args, { dataDir: dir.path, env });
    capture.add(`${args.join(" ")} stdout`, run.stdout);
    capture.add(`${args.join(" ")} stderr`, run.stderr);
  }
  assert.match(capture.parts[0].text, /upstream_auth/);
  capture.assertClean([OPENAI_KEY]);
});

Deno.test({
  name: "a model name a caller sends is never published as a /metrics label",
  async fn() {
    await using fake = await startFakeOpenAI();
    await using dir = await tempDataDir("leak-model-");
    const server = await spawnHttpService({
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: fake.baseUrl,
    }, { dataDir: dir.path });
    try {
      const refused = await fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ prompt: "z", model: AUTH_TOKEN }),
      });
      assert.equal(refused.status, 400);
      await refused.body?.cancel();
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.ok(!metrics.includes(AUTH_TOKEN), excerpt(metrics, AUTH_TOKEN));
    } finally {
      await server.stop();
    }
  },
});
