/**
 * Both protocol eras over both transports, from the same tools, resources and prompts: SDK v2's
 * client negotiating 2026-07-28, SDK 1.x's client on 2025-11-25 and on 2025-06-18, each over
 * stdio (the real stdio server process) and over Streamable HTTP (the real HTTP service process),
 * generate, edit, list and read an `image://` resource and get a prompt against the fake OpenAI
 * upstream; tools/list and prompts/list show every title and icon. Raw 2026-07-28 requests check
 * what the SDKs' clients hide: `server/discover` and the list results' cache hints.
 */
import assert from "node:assert/strict";
import { decodeBase64 } from "../../src/encoding.ts";
import { sniffImage } from "../../src/images/codec.ts";
import { APP_MIME_TYPE, APPS_EXTENSION_ID, STUDIO_URI } from "../../src/mcp/apps/mod.ts";
import { iconList, PROMPT_PRESENTATION, TOOL_PRESENTATION } from "../../src/mcp/presentation.ts";
import { startFakeOpenAI } from "../fake_openai.ts";
import { startHttpServer, TEST_OPENAI_KEY } from "./support/http_server.ts";
import { connectEra, type EraClient, type EraTarget, type EraVersion } from "./support/mcp_eras.ts";

const TOKEN = "eras-mcp-token-0123456789abcdef";
const VERSIONS: readonly EraVersion[] = ["2026-07-28", "2025-11-25", "2025-06-18"];
const TRANSPORTS = ["stdio", "http"] as const;

/** The SDK clients leave reconnection and kill timers behind on close, by design. */
function clientTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

type Loose = Record<string, unknown>;

function texts(result: { content: Loose[] }): string {
  return result.content.filter((b) => b.type === "text").map((b) => b.text).join("\n");
}

function imageIdOf(result: { content: Loose[]; isError?: boolean }): string {
  assert.ok(!result.isError, texts(result));
  assert.ok(result.content.some((b) => b.type === "image"), "an inline preview");
  const link = result.content.find((b) => b.type === "resource_link");
  assert.match(String(link?.uri), /^image:\/\/[0-9a-f-]{36}$/);
  return String(link!.uri).slice("image://".length);
}

/** Every tool and prompt shows its title and icons from src/mcp/presentation.ts. */
async function checkPresentation(client: EraClient): Promise<void> {
  const info = client.serverInfo();
  assert.equal(info?.title, "OpenAI Image Generation");
  assert.deepEqual(info?.icons, iconList());
  const { tools } = await client.listTools();
  assert.ok(tools.length >= 5, "the tools are listed");
  for (const tool of tools) {
    const shown = TOOL_PRESENTATION[tool.name as keyof typeof TOOL_PRESENTATION];
    assert.ok(shown, `${tool.name} has a presentation`);
    assert.equal(tool.title, shown.title);
    assert.deepEqual(tool.icons, iconList(shown.icons), `${tool.name} shows its icons`);
  }
  const { prompts } = await client.listPrompts();
  assert.deepEqual(
    prompts.map((prompt) => [prompt.name, prompt.title, prompt.icons]),
    Object.entries(PROMPT_PRESENTATION).map(([name, shown]) => [
      name,
      shown.title,
      iconList(shown.icons),
    ]),
  );
}

/** generate → edit → resources/list → resources/read → prompts/get. */
async function exercise(client: EraClient): Promise<void> {
  const made = imageIdOf(
    await client.callTool("generate_image", { prompt: "a red fox in snow", quality: "low" }),
  );
  const edited = imageIdOf(
    await client.callTool("edit_image", { prompt: "make it green", images: [`image://${made}`] }),
  );
  assert.notEqual(edited, made);

  const { resources } = await client.listResources();
  assert.deepEqual(
    resources.map((resource) => resource.uri),
    [`image://${edited}`, `image://${made}`],
    "newest first",
  );
  const read = await client.readResource(`image://${edited}`);
  const content = read.contents[0] as { uri: string; mimeType: string; blob: string };
  assert.equal(content.uri, `image://${edited}`);
  assert.equal(content.mimeType, "image/png");
  assert.equal(sniffImage(decodeBase64(content.blob))?.mime, "image/png");

  const prompt = await client.getPrompt("app_icon", { subject: "a budgeting app" });
  const message = prompt.messages[0] as { role: string; content: { text: string } };
  assert.equal(message.role, "user");
  assert.match(message.content.text, /generate_image tool to create an app icon for a budgeting/);
}

async function withTarget(
  transport: typeof TRANSPORTS[number],
  fn: (target: EraTarget) => Promise<void>,
): Promise<void> {
  await using fake = await startFakeOpenAI();
  const upstream = {
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    OPENAI_MAX_RETRIES: "0",
  };
  if (transport === "http") {
    await using server = await startHttpServer({
      ...upstream,
      MCP_AUTH_TOKEN: TOKEN,
      IMAGE_GENERATION_RATE_LIMIT: "1000",
      REQUEST_RATE_LIMIT: "10000/1m",
    });
    try {
      await fn({ transport, url: server.url, token: TOKEN });
    } catch (error) {
      console.error(`--- service stderr (last 8 KB) ---\n${server.stderr().slice(-8192)}`);
      throw error;
    }
    return;
  }
  const cwd = await Deno.makeTempDir({ prefix: "mcp-eras-" });
  try {
    await fn({ transport, env: upstream, cwd });
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}

for (const transport of TRANSPORTS) {
  for (const version of VERSIONS) {
    clientTest(
      `[${transport}] a ${version} client generates, edits, lists, reads image:// and gets a prompt`,
      async () => {
        await withTarget(transport, async (target) => {
          await using client = await connectEra(target, version);
          assert.equal(client.version, version, "the negotiated protocol version");
          await checkPresentation(client);
          await exercise(client);
        });
      },
    );
  }
}

/** A raw 2026-07-28 request: the `_meta` envelope and the standard headers. */
async function postModern(
  url: string,
  method: string,
  params: Loose = {},
  capabilities: Loose = {},
): Promise<Loose> {
  const response = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      Authorization: `Bearer ${TOKEN}`,
      "MCP-Protocol-Version": "2026-07-28",
      "Mcp-Method": method,
      // The header 2026-07-28 requires beside a body naming a tool, prompt or resource.
      ...(typeof (params.uri ?? params.name) === "string"
        ? { "Mcp-Name": String(params.uri ?? params.name) }
        : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": capabilities,
          "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1.0.0" },
        },
      },
    }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as Loose;
}

clientTest(
  "[http] 2026-07-28: the studio's own tools are listed only to a request declaring the apps extension",
  async () => {
    await withTarget("http", async (target) => {
      if (target.transport !== "http") return;
      const apps = { extensions: { [APPS_EXTENSION_ID]: { mimeTypes: [APP_MIME_TYPE] } } };
      const names = async (capabilities: Loose) =>
        (((await postModern(target.url, "tools/list", {}, capabilities)).result as Loose)
          .tools as { name: string }[]).map((tool) => tool.name);
      const withApps = await names(apps);
      for (const name of ["read_image_part", "quote_image", "browse_images"]) {
        assert.ok(withApps.includes(name), name);
      }
      const without = await names({});
      assert.deepEqual(
        without.filter((name) => !withApps.includes(name)),
        [],
        "nothing only plain clients see",
      );
      assert.deepEqual(withApps.filter((name) => !without.includes(name)).sort(), [
        "browse_images",
        "quote_image",
        "read_image_part",
      ]);
      const read = (await postModern(target.url, "resources/read", { uri: STUDIO_URI }, apps))
        .result as { contents: Loose[] };
      assert.equal(read.contents[0].mimeType, "text/html;profile=mcp-app");
      assert.deepEqual((read.contents[0]._meta as { ui: { csp: Loose } }).ui.csp, {
        connectDomains: [],
        resourceDomains: [],
      });
    });
  },
);

clientTest(
  "[http] 2026-07-28: server/discover shows the title and icons, and list results carry cache hints",
  async () => {
    await withTarget("http", async (target) => {
      assert.equal(target.transport, "http");
      if (target.transport !== "http") return;
      const discover = (await postModern(target.url, "server/discover")).result as Loose;
      assert.deepEqual(discover.supportedVersions, ["2026-07-28"]);
      // 2026-07-28 results name their server in `_meta` (the SDK stamps every result).
      const info = (discover._meta as Loose)["io.modelcontextprotocol/serverInfo"] as Loose;
      assert.equal(info.title, "OpenAI Image Generation");
      assert.deepEqual(info.icons, iconList());
      assert.equal(discover.resultType, "complete");
      assert.deepEqual([discover.ttlMs, discover.cacheScope], [300_000, "public"]);

      const tools = (await postModern(target.url, "tools/list")).result as Loose;
      assert.equal(tools.resultType, "complete");
      // Private: the list varies with the request's declared capabilities (app-only tools).
      assert.deepEqual([tools.ttlMs, tools.cacheScope], [300_000, "private"]);
      const generate = (tools.tools as Loose[]).find((tool) => tool.name === "generate_image");
      assert.equal(generate?.title, TOOL_PRESENTATION.generate_image.title);
      assert.deepEqual(generate?.icons, iconList(TOOL_PRESENTATION.generate_image.icons));

      const resources = (await postModern(target.url, "resources/list")).result as Loose;
      assert.deepEqual(
        [resources.resources, resources.ttlMs, resources.cacheScope],
        [[], 0, "private"],
        "a caller's own images change with every generation: never cached",
      );
    });
  },
);
