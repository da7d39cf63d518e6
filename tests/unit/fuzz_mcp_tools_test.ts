/**
 * Hostile tool arguments against the real MCP server (`createMcpServer` over the real services
 * with an in-memory KV and an upstream stub), connected to the SDK's client through the SDK's
 * in-memory transport pair: any tool, any arguments, any resource URI. Every answer is a tool
 * result (an `isError` one for a refusal) or an invalid-params protocol error — never an internal
 * error, a crash or an unhandled rejection — and file-path and URL inputs of `edit_image` never
 * reach a file outside the allowed folder or a non-public address.
 *
 * The seed is printed; replay a failure with FC_SEED=<seed>.
 */
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { resolveConfig } from "../../src/config.ts";
import type { Principal } from "../../src/core_types.ts";
import type { FetchLike } from "../../src/generation/openai.ts";
import { createMcpServer } from "../../src/mcp/server.ts";
import { createServices } from "../../src/services.ts";
import { renderImage } from "../fake_openai/render.ts";
import { Client } from "../e2e/support/mcp_client.ts";

const SEED = Number(Deno.env.get("FC_SEED") ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fast-check seed: ${SEED} (replay with FC_SEED=${SEED})`);
const RUNS = Number(Deno.env.get("FC_RUNS") ?? 500);
const PARAMS = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

const SECRET_MARKER = "OUTSIDE-ROOT-MARKER-91c2";
const LOCAL: Principal = Object.freeze({ id: "local", name: "local user", role: "admin" });

const unhandled: unknown[] = [];
globalThis.addEventListener("unhandledrejection", (event) => {
  unhandled.push(event.reason);
  event.preventDefault();
});

const TINY = await renderImage("mcp-fuzz", { width: 16, height: 16 });

/** Upstream stub: tiny images; remembers whether an uploaded file carried the marker. */
function stubUpstream(leaks: string[]): FetchLike {
  return async (input, init) => {
    const request = new Request(input, init);
    let n = 1;
    if (new URL(request.url).pathname.endsWith("/edits")) {
      for (const [name, value] of await request.formData()) {
        if (typeof value === "string") {
          if (name === "n") n = Number(value) || 1;
          continue;
        }
        const text = new TextDecoder().decode(await value.arrayBuffer());
        if (text.includes(SECRET_MARKER)) leaks.push(`${name}: ${value.name}`);
      }
    } else {
      n = Number((await request.json()).n ?? 1) || 1;
    }
    return Response.json({
      created: 1,
      data: Array.from({ length: Math.max(1, Math.min(10, n)) }, () => ({
        b64_json: TINY.toBase64(),
      })),
      usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
    });
  };
}

interface Harness extends AsyncDisposable {
  client: InstanceType<typeof Client>;
  dir: string;
  /** Uploads that carried bytes from outside the allowed folder. */
  leaks: string[];
  /** URLs the input fetch was asked for. */
  fetched: string[];
}

async function startHarness(): Promise<Harness> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "fuzz-mcp-" }));
  const allowed = join(dir, "allowed");
  await Deno.mkdir(allowed, { recursive: true });
  await Deno.writeFile(join(allowed, "inside.png"), TINY);
  const secret = new Uint8Array([...TINY, ...new TextEncoder().encode(SECRET_MARKER)]);
  await Deno.writeFile(join(dir, "secret.png"), secret);
  await Deno.mkdir(join(dir, "allowed-evil"));
  await Deno.writeFile(join(dir, "allowed-evil", "x.png"), secret);
  await Deno.symlink(join(dir, "secret.png"), join(allowed, "link.png"));
  await Deno.symlink(dir, join(allowed, "up"));
  const config = resolveConfig({
    env: {
      OPENAI_API_KEY: "sk-fuzz-mcp-0123456789abcdef",
      OPENAI_MAX_RETRIES: "0",
      DATA_DIR: dir,
      OUTPUT_DIR: join(dir, "images"),
      KV_PATH: ":memory:",
      EDIT_ALLOWED_ROOTS: allowed,
      EDIT_ALLOWED_URL_HOSTS: "*",
      MCP_LONG_JOB_SECONDS: "30",
      LOG_LEVEL: "error",
    },
    dotenv: {},
    flags: {},
    os: "linux",
    cwd: dir,
  });
  const kv = await Deno.openKv(":memory:");
  const leaks: string[] = [];
  const fetched: string[] = [];
  const services = await createServices(config, {
    door: "mcp",
    kv,
    skipStartupReconcile: true,
    fetch: stubUpstream(leaks),
    // Every name resolves to a private address, so no URL input may ever be fetched.
    resolveDns: () => Promise.resolve(["10.1.2.3", "93.184.216.34"]),
    inputFetch: (input) => {
      fetched.push(String(input instanceof Request ? input.url : input));
      const body = TINY as Uint8Array<ArrayBuffer>;
      return Promise.resolve(new Response(body, { headers: { "content-type": "image/png" } }));
    },
  });
  const server = createMcpServer((mcp) => ({
    images: services.images,
    config,
    principal: () => LOCAL,
    client: () => ({ name: mcp.server.getClientVersion()?.name }),
    redact: (text) => text,
  }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "fuzz", version: "1.0.0" });
  await client.connect(clientSide);
  return {
    client,
    dir,
    leaks,
    fetched,
    async [Symbol.asyncDispose]() {
      await client.close();
      server.dispose();
      await server.close();
      await services.drain();
      await services.close();
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type ToolResult = { content?: { type: string; text?: string }[]; isError?: boolean };

/** Calls a tool; a thrown protocol error is returned as its code and message. */
async function call(
  client: InstanceType<typeof Client>,
  name: string,
  args: unknown,
): Promise<{ result?: ToolResult; error?: { code: number; message: string } }> {
  try {
    const result = await client.callTool(
      { name, arguments: args as Record<string, unknown> },
      undefined,
      { timeout: 20_000 },
    ) as ToolResult;
    return { result };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== "number") throw error;
    return { error: { code, message: (error as Error).message } };
  }
}

/**
 * The answer is a result or an invalid-params error, and nothing internal leaked out. `arguments`
 * that are not an object at all fail the request's schema before any tool runs: -32602 naming
 * `arguments` (the SDK alone would answer -32603, typescript-sdk#2284; src/mcp/params_guard.ts).
 */
function checkAnswer(
  answer: Awaited<ReturnType<typeof call>>,
  what: string,
  args?: unknown,
): string {
  if (answer.error) {
    assert.equal(answer.error.code, -32602, `${what}: protocol error ${answer.error.message}`);
    const notAnObject = typeof args !== "object" || args === null || Array.isArray(args);
    if (notAnObject) {
      assert.match(
        answer.error.message,
        /Invalid params for tools\/call: arguments: expected record/,
      );
    }
    return answer.error.message;
  }
  const result = answer.result!;
  assert.ok(Array.isArray(result.content), `${what}: no content`);
  const text = result.content.filter((b) => b.type === "text").map((b) => b.text).join("\n");
  if (result.isError) {
    assert.doesNotMatch(text, /^Error \(internal\)/, `${what}: ${text}`);
    assert.doesNotMatch(text, /\bat .*\.ts:\d+/, `${what}: a stack trace in ${text}`);
  }
  return text;
}

const wild = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, -1, 0, 1e308, 2 ** 53, "", "\u0000", "\ud800", [] as unknown[]),
);

const pathRef = fc.tuple(
  fc.constantFrom("", "/", "./", "file://", "file:///", "~/", "\\\\?\\", "C:\\", "/mnt/user-data/"),
  fc.array(
    fc.constantFrom(
      "..",
      ".",
      "allowed",
      "allowed-evil",
      "inside.png",
      "secret.png",
      "x.png",
      "link.png",
      "up",
      "%2e%2e",
      "etc",
      "passwd",
      "",
      "..\\",
    ),
    { minLength: 1, maxLength: 5 },
  ),
  fc.constantFrom("/", "\\"),
).map(([prefix, parts, sep]) => `${prefix}${parts.join(sep)}`);

const TOOLS = [
  "generate_image",
  "edit_image",
  "get_image",
  "list_images",
  "delete_image",
  "list_models",
  "no_such_tool",
];

Deno.test("any tool with any arguments answers a result or invalid params, never an internal error", async () => {
  await using h = await startHarness();
  const argsFor = (tool: string) => {
    const known = {
      generate_image: ["prompt", "model", "size", "quality", "n", "background", "output_format"],
      edit_image: ["prompt", "images", "mask", "input_fidelity", "size", "n"],
      get_image: ["id", "size", "wait_seconds"],
      list_images: ["limit", "cursor", "model", "query"],
      delete_image: ["id"],
    }[tool] ?? ["x"];
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer({ min: -5, max: 200 }),
      fc.array(fc.oneof(fc.string({ maxLength: 20 }), pathRef), { maxLength: 3 }),
      pathRef,
      fc.constantFrom("image://x", "image://../../etc", "00000000-0000-0000-0000-000000000000"),
      wild,
    );
    return fc.oneof(
      { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...known), value, { maxKeys: 5 }) },
      fc.dictionary(fc.string({ maxLength: 8 }), wild, { maxKeys: 3 }),
      wild,
    );
  };
  const invocation = fc.constantFrom(...TOOLS).chain((tool) =>
    argsFor(tool).map((args) => ({ tool, args }))
  );
  await fc.assert(
    fc.asyncProperty(invocation, async ({ tool, args }) => {
      const what = `${tool} ${JSON.stringify(args)?.slice(0, 200)}`;
      const text = checkAnswer(await call(h.client, tool, args), what, args);
      assert.ok(!text.includes(SECRET_MARKER), `${what} showed an outside file`);
    }),
    PARAMS,
  );
  assert.deepEqual(h.leaks, [], "no outside file was uploaded");
  assert.deepEqual(h.fetched, [], "no URL resolving to a private address was fetched");
  assert.deepEqual(unhandled.map(String), []);
});

Deno.test("edit_image reads a file input only when its real path is inside the allowed folder", async () => {
  await using h = await startHarness();
  await fc.assert(
    fc.asyncProperty(fc.array(pathRef, { minLength: 1, maxLength: 2 }), async (images) => {
      const answer = await call(h.client, "edit_image", { prompt: "make it blue", images });
      const text = checkAnswer(answer, `edit_image ${JSON.stringify(images)}`);
      assert.ok(!text.includes(SECRET_MARKER));
    }),
    PARAMS,
  );
  assert.deepEqual(h.leaks, [], "no outside file was uploaded");
  const direct = await call(h.client, "edit_image", {
    prompt: "make it blue",
    images: [join(h.dir, "allowed", "inside.png")],
  });
  assert.notEqual(direct.result?.isError, true, JSON.stringify(direct));
  assert.deepEqual(unhandled.map(String), []);
});

Deno.test("edit_image refuses URL inputs that are or resolve to non-public addresses", async () => {
  await using h = await startHarness();
  const blockedHost = fc.oneof(
    fc.constantFrom(
      "127.0.0.1",
      "localhost",
      "[::1]",
      "169.254.169.254",
      "[::ffff:169.254.169.254]",
      "2130706433",
      "0x7f000001",
      "0177.0.0.1",
      "127.1",
      "[fd00:ec2::254]",
      "metadata.google.internal",
      "10.0.0.1",
      "[64:ff9b::a00:1]",
      "[2002:a00:1::]",
      "0.0.0.0",
    ),
    fc.domain(), // every name resolves to 10.1.2.3 among others here
  );
  const url = fc.tuple(fc.constantFrom("http", "https"), blockedHost, fc.webPath()).map((
    [scheme, host, path],
  ) => `${scheme}://${host}${path}`);
  await fc.assert(
    fc.asyncProperty(url, async (ref) => {
      const answer = await call(h.client, "edit_image", { prompt: "p", images: [ref] });
      const text = checkAnswer(answer, `edit_image ${ref}`);
      assert.equal(answer.result?.isError, true, `${ref} was accepted: ${text}`);
      assert.match(text, /^Error \(validation\)/, `${ref}: ${text}`);
    }),
    PARAMS,
  );
  assert.deepEqual(h.fetched, [], "nothing was fetched");
  assert.deepEqual(unhandled.map(String), []);
});

Deno.test({
  name: "resources/read of an unknown image answers -32602 with the URI (resource not found)",
  async fn() {
    await using h = await startHarness();
    const error = await h.client.readResource({ uri: "image://no-such-image" }).then(
      () => null,
      (e) => e,
    );
    // SDK v2 answers a missing resource with -32602 and `data: { uri }` in every era (2026-07-28
    // retired -32002).
    const answer = error as { code?: number; data?: unknown } | null;
    assert.equal(answer?.code, -32602, String(error));
    assert.deepEqual(answer?.data, { uri: "image://no-such-image" });
  },
});

Deno.test("resources/read with any image URI answers content or a protocol error, never a crash", async () => {
  await using h = await startHarness();
  const uri = fc.oneof(
    fc.tuple(
      fc.constantFrom("image://", "image:///", "image:", "file://", "gallery://"),
      fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.uuid(),
        fc.constantFrom("../../etc/passwd", "%2e%2e/secret", "x/preview", "x/../../y"),
      ),
    ).map(([a, b]) => `${a}${b}`),
    fc.webUrl(),
  );
  await fc.assert(
    fc.asyncProperty(uri, async (target) => {
      try {
        const read = await h.client.readResource({ uri: target });
        assert.ok(Array.isArray(read.contents));
        assert.ok(!JSON.stringify(read).includes(SECRET_MARKER));
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        // The SDK parses the URI before any handler runs and answers -32603 when it cannot.
        const unparsable = !URL.canParse(target);
        assert.ok(
          code === -32602 || code === -32002 || (code === -32603 && unparsable),
          `${target}: ${String(error)}`,
        );
      }
    }),
    { ...PARAMS, numRuns: Math.ceil(RUNS / 2) },
  );
  assert.deepEqual(unhandled.map(String), []);
});
