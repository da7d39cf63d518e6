/**
 * End-to-end: the real stdio server process (`deno run -P=mcp src/main_mcp.ts`) driven by the MCP
 * SDK's Client over StdioClientTransport, against tests/fake_openai.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeOpenAI } from "../fake_openai.ts";
import { sniffImage } from "../../src/images/codec.ts";
import { decodeBase64 } from "../../src/encoding.ts";
import { startStdioServer } from "./support/mcp_client.ts";
import { eventually } from "../support/eventually.ts";
import { startHttpServer } from "./support/http_server.ts";

/** The SDK client leaves an unref'd 2 s kill timer behind on close (client/stdio.js), by design. */
function e2eTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

type Block = {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
};
type ToolResult = { content: Block[]; isError?: boolean; structuredContent?: unknown };

function texts(result: ToolResult): string {
  return result.content.filter((b) => b.type === "text").map((b) => b.text).join("\n");
}

async function withServer(
  env: Record<string, string>,
  fn: (
    session: Awaited<ReturnType<typeof startStdioServer>>,
    fake: Awaited<ReturnType<typeof startFakeOpenAI>>,
  ) => Promise<void>,
  options: { clientName?: string } = {},
) {
  await using fake = await startFakeOpenAI();
  await using session = await startStdioServer({
    OPENAI_API_KEY: "sk-test-e2e-key-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    ...env,
  }, options);
  try {
    await fn(session, fake);
  } catch (error) {
    console.error(`--- server stderr ---\n${session.stderr()}`);
    throw error;
  }
}

e2eTest("tools/list obeys the schema rules clients enforce", async () => {
  await withServer({}, async ({ client }) => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, [
      "delete_image",
      "edit_image",
      "generate_image",
      "get_image",
      "list_images",
      "list_models",
    ]);
    for (const tool of tools) {
      assert.match(tool.name, /^[A-Za-z0-9_.-]{1,128}$/);
      assert.ok(tool.description && tool.description.length > 40, `${tool.name} description`);
      assert.equal(tool.inputSchema.type, "object", tool.name);
      for (const key of ["anyOf", "oneOf", "allOf"]) {
        assert.ok(!(key in tool.inputSchema), `${tool.name} has top-level ${key}`);
      }
      assert.ok(tool.annotations, `${tool.name} annotations`);
    }
    const generate = tools.find((t) => t.name === "generate_image")!;
    assert.deepEqual(generate.inputSchema.required, ["prompt"]);
    assert.equal(tools.find((t) => t.name === "delete_image")!.annotations?.destructiveHint, true);
    assert.equal(tools.find((t) => t.name === "list_images")!.annotations?.readOnlyHint, true);
    const info = client.getServerVersion();
    assert.equal(info?.name, "openai-image-generation");
  });
});

e2eTest("delete_image is absent when MCP_ALLOW_DELETE=false", async () => {
  await withServer({ MCP_ALLOW_DELETE: "false" }, async ({ client }) => {
    const { tools } = await client.listTools();
    assert.ok(!tools.some((t) => t.name === "delete_image"));
  });
});

e2eTest(
  "generate_image returns a preview under budget and a link to the stored bytes",
  async () => {
    await withServer({ MCP_RESULT_MAX_BYTES: "300000" }, async ({ client, dataDir }, fake) => {
      const progress: { progress: number; message?: string }[] = [];
      const result = await client.callTool(
        { name: "generate_image", arguments: { prompt: "a red fox in snow", size: "1024x1024" } },
        undefined,
        { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 60_000 },
      ) as ToolResult;
      assert.ok(!result.isError, texts(result));
      const image = result.content.find((b) => b.type === "image")!;
      assert.ok(image, "an image block");
      const preview = decodeBase64(image.data!);
      assert.ok(preview.length <= 300_000, `preview ${preview.length} bytes over budget`);
      const sniffed = sniffImage(preview);
      assert.equal(sniffed?.mime, image.mimeType, "decodes at its declared mime type");
      const link = result.content.find((b) => b.type === "resource_link")!;
      assert.match(link.uri!, /^image:\/\/[0-9a-f-]{36}$/);
      const read = await client.readResource({ uri: link.uri! });
      const blob = (read.contents[0] as { blob: string }).blob;
      const stored = decodeBase64(blob);
      const id = link.uri!.slice("image://".length);
      const files = [...Deno.readDirSync(join(dataDir, "images"))].map((e) => e.name);
      const file = files.find((name) => name.startsWith(id) && !name.includes("thumb"))!;
      assert.ok(file, `stored file for ${id} in ${files}`);
      assert.deepEqual(stored, await Deno.readFile(join(dataDir, "images", file)));
      assert.match(texts(result), /Saved: file:\/\//);
      assert.ok(progress.length >= 1, "progress notifications arrived");
      assert.equal(fake.stats.imagesProduced, 1);
    });
  },
);

e2eTest("a slow generation answers pending, then get_image returns the stored image", async () => {
  await withServer({ MCP_LONG_JOB_SECONDS: "1" }, async ({ client }) => {
    const first = await client.callTool({
      name: "generate_image",
      arguments: { prompt: "slow lighthouse [fault:latency=3000]" },
    }) as ToolResult;
    assert.ok(!first.isError, texts(first));
    assert.match(texts(first), /Still generating/);
    const pendingId = /Pending image id: ([0-9a-f-]{36})/.exec(texts(first))?.[1];
    assert.ok(pendingId, texts(first));
    const later = await client.callTool(
      {
        name: "get_image",
        arguments: { id: pendingId, wait_seconds: 30 },
      },
      undefined,
      { timeout: 60_000 },
    ) as ToolResult;
    assert.ok(!later.isError, texts(later));
    assert.ok(later.content.some((b) => b.type === "image"));
    assert.ok(later.content.some((b) => b.uri === `image://${pendingId}`));
  });
});

e2eTest("cancelling a call aborts the upstream request and stores nothing", async () => {
  await withServer({}, async ({ client }, fake) => {
    const controller = new AbortController();
    const call = client.callTool(
      { name: "generate_image", arguments: { prompt: "never finishes [fault:hang]" } },
      undefined,
      { signal: controller.signal },
    ).catch((error) => error);
    await eventually(() => fake.stats.inFlight > 0, "the upstream request", 20_000);
    const closedBefore = fake.stats.connectionsClosedByClient;
    controller.abort();
    assert.ok(await call instanceof Error);
    await eventually(
      () => fake.stats.connectionsClosedByClient > closedBefore,
      "the upstream connection to close",
      20_000,
    );
    const list = await client.callTool({ name: "list_images", arguments: {} }) as ToolResult;
    assert.match(texts(list), /No images found/);
  });
});

e2eTest(
  "edit_image works from an id, an image:// URI and a file path, and refuses unsafe inputs",
  async () => {
    await withServer({}, async ({ client, dataDir }) => {
      const made = await client.callTool({
        name: "generate_image",
        arguments: { prompt: "a blue square", size: "1024x1024" },
      }) as ToolResult;
      assert.ok(!made.isError, texts(made));
      const id = made.content.find((b) => b.type === "resource_link")!.uri!.slice(8);
      const file = [...Deno.readDirSync(join(dataDir, "images"))]
        .map((e) => e.name).find((n) => n.startsWith(id) && !n.includes("thumb"))!;
      for (const ref of [id, `image://${id}`, join(dataDir, "images", file)]) {
        const edited = await client.callTool({
          name: "edit_image",
          arguments: { prompt: "make it green", images: [ref] },
        }) as ToolResult;
        assert.ok(!edited.isError, `${ref}: ${texts(edited)}`);
        assert.ok(edited.content.some((b) => b.type === "image"), ref);
      }
      const outside = await client.callTool({
        name: "edit_image",
        arguments: { prompt: "x", images: ["/etc/hostname"] },
      }) as ToolResult;
      assert.equal(outside.isError, true);
      assert.match(texts(outside), /outside the allowed folders/);
      const host = await client.callTool({
        name: "edit_image",
        arguments: { prompt: "x", images: ["https://evil.example/cat.png"] },
      }) as ToolResult;
      assert.equal(host.isError, true);
      assert.match(texts(host), /EDIT_ALLOWED_URL_HOSTS/);
    });
  },
);

e2eTest("edit_image refuses URLs that resolve to private addresses", async () => {
  await withServer({ EDIT_ALLOWED_URL_HOSTS: "127.0.0.1,localhost" }, async ({ client }) => {
    const result = await client.callTool({
      name: "edit_image",
      arguments: { prompt: "x", images: ["http://127.0.0.1:9/cat.png"] },
    }) as ToolResult;
    assert.equal(result.isError, true);
    assert.match(texts(result), /(private|loopback)/i);
  });
});

e2eTest("list_images, get_image, delete_image and prompts behave as documented", async () => {
  await withServer({}, async ({ client }) => {
    const made = await client.callTool({
      name: "generate_image",
      arguments: { prompt: "a small green cactus", n: 2, size: "1024x1024", quality: "low" },
    }) as ToolResult;
    assert.ok(!made.isError, texts(made));
    const ids = made.content.filter((b) => b.type === "resource_link").map((b) => b.uri!.slice(8));
    assert.equal(ids.length, 2);
    const listed = await client.callTool({
      name: "list_images",
      arguments: { query: "CACTUS" },
    }) as ToolResult;
    for (const id of ids) assert.match(texts(listed), new RegExp(id));
    const got = await client.callTool({
      name: "get_image",
      arguments: { id: ids[0] },
    }) as ToolResult;
    assert.ok(got.content.some((b) => b.type === "image"));
    const deleted = await client.callTool({
      name: "delete_image",
      arguments: { id: `image://${ids[0]}` },
    }) as ToolResult;
    assert.ok(!deleted.isError, texts(deleted));
    const gone = await client.callTool({
      name: "get_image",
      arguments: { id: ids[0], wait_seconds: 0 },
    }) as ToolResult;
    assert.equal(gone.isError, true);
    assert.match(texts(gone), /not found/i);
    const again = await client.callTool({
      name: "delete_image",
      arguments: { id: ids[0] },
    }) as ToolResult;
    assert.equal(again.isError, true);
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), [
      "app_icon",
      "illustration",
      "product_photo",
    ]);
    const prompt = await client.getPrompt({
      name: "app_icon",
      arguments: { subject: "a weather app" },
    });
    const text = (prompt.messages[0].content as { text: string }).text;
    assert.match(text, /generate_image/);
    assert.match(text, /a weather app/);
    const { resources } = await client.listResources();
    assert.ok(resources.some((r) => r.uri === `image://${ids[1]}`));
    assert.ok(!resources.some((r) => r.uri === `image://${ids[0]}`));
  });
});

e2eTest(
  "bad inputs give isError results naming the field, and the server stays alive",
  async () => {
    await withServer({}, async ({ client }) => {
      const badSize = await client.callTool({
        name: "generate_image",
        arguments: { prompt: "x", size: "1000x1000" },
      }) as ToolResult;
      assert.equal(badSize.isError, true);
      assert.match(texts(badSize), /size/);
      const badN = await client.callTool({
        name: "generate_image",
        arguments: { prompt: "x", n: 50 },
      }) as ToolResult;
      assert.equal(badN.isError, true);
      assert.match(texts(badN), /\bn\b/);
      const missing = await client.callTool({
        name: "generate_image",
        arguments: {},
      }) as ToolResult;
      assert.equal(missing.isError, true);
      assert.match(texts(missing), /prompt/);
      const moderation = await client.callTool({
        name: "generate_image",
        arguments: { prompt: "something [fault:moderation]" },
      }) as ToolResult;
      assert.equal(moderation.isError, true);
      assert.match(texts(moderation), /moderation/i);
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0, "still alive");
    });
  },
);

e2eTest("a missing API key is explained with where to put it", async () => {
  await withServer({ OPENAI_API_KEY: "" }, async ({ client }) => {
    const result = await client.callTool({
      name: "generate_image",
      arguments: { prompt: "x" },
    }) as ToolResult;
    assert.equal(result.isError, true);
    assert.match(texts(result), /add OPENAI_API_KEY to the "env" block of this server/);
    assert.match(texts(result), /claude_desktop_config\.json/);
    assert.doesNotMatch(texts(result), /restart the service/);
  });
});

e2eTest("structuredContent follows MCP_STRUCTURED_CONTENT and the client", async () => {
  await withServer({}, async ({ client }) => {
    const result = await client.callTool({
      name: "generate_image",
      arguments: { prompt: "a kite", quality: "low" },
    }) as ToolResult;
    assert.equal(result.structuredContent, undefined, "omitted for Claude clients");
  }, { clientName: "claude-code" });
  await withServer({}, async ({ client }) => {
    const result = await client.callTool({
      name: "generate_image",
      arguments: { prompt: "a kite", quality: "low" },
    }) as ToolResult;
    const structured = result.structuredContent as { images: { id: string }[] };
    assert.equal(structured.images.length, 1);
  }, { clientName: "chatgpt" });
});

e2eTest(
  "with IMAGES_PUBLIC=false and PUBLIC_BASE_URL the stdio server's links are signed and open",
  async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "stdio-signed-" });
    await using fake = await startFakeOpenAI();
    const env = {
      OPENAI_API_KEY: "sk-test-e2e-key-0123456789",
      OPENAI_BASE_URL: fake.baseUrl,
      DATA_DIR: dataDir,
      KV_PATH: join(dataDir, "kv.sqlite3"),
      IMAGES_PUBLIC: "false",
    };
    const http = await startHttpServer(env, { dataDir });
    try {
      await using session = await startStdioServer(
        { ...env, PUBLIC_BASE_URL: http.url },
        { dataDir },
      );
      const result = await session.client.callTool({
        name: "generate_image",
        arguments: { prompt: "a signed fox", quality: "low" },
      }) as ToolResult;
      assert.ok(!result.isError, texts(result));
      const url = /^URL: (\S+)$/m.exec(texts(result))?.[1] ?? "";
      assert.ok(url.startsWith(`${http.url}/images/`), texts(result));
      assert.match(url, /\?exp=\d+&sig=[A-Za-z0-9_-]+$/);
      const opened = await fetch(url);
      await opened.body?.cancel();
      assert.equal(opened.status, 200, "the HTTP service accepts the stdio server's signature");
    } finally {
      await http.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
);
