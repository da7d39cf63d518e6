/**
 * Titles and icons as a real MCP client sees them: the stdio server driven by SDK 1.x's client
 * (2025-11-25). The server, its tools and its prompts show the titles and icons of
 * src/mcp/presentation.ts (SDK v2's registrations carry icons; mcp_eras_test.ts checks every era).
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { sniffImage } from "../../src/images/codec.ts";
import { decodeBase64 } from "../../src/encoding.ts";
import { iconList, PROMPT_PRESENTATION, TOOL_PRESENTATION } from "../../src/mcp/presentation.ts";
import { Icon } from "../support/mcp_shapes.ts";
import { startStdioServer } from "./support/mcp_client.ts";

Deno.test({
  name:
    "the server shows its title and icons, and tools/list and prompts/list show every title and icon",
  // The SDK client leaves an unref'd 2 s kill timer behind on close (client/stdio.js), by design.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using fake = await startFakeOpenAI();
    await using session = await startStdioServer({
      OPENAI_API_KEY: "sk-test-presentation-0123",
      OPENAI_BASE_URL: fake.baseUrl,
    });
    const { client } = session;
    const info = client.getServerVersion()!;
    assert.equal(info.title, "OpenAI Image Generation");
    const icons = (info.icons ?? []).map((icon) => Icon.parse(icon));
    assert.deepEqual(icons.map((icon) => icon.mimeType), ["image/png", "image/svg+xml"]);
    const png = decodeBase64(icons[0].src.replace(/^data:image\/png;base64,/, ""));
    assert.deepEqual(
      [sniffImage(png)?.mime, sniffImage(png)?.width, sniffImage(png)?.height],
      ["image/png", 48, 48],
      "the PNG icon is a real 48 px PNG",
    );

    const { tools } = await client.listTools();
    assert.ok(tools.length > 0);
    for (const tool of tools) {
      const shown = TOOL_PRESENTATION[tool.name as keyof typeof TOOL_PRESENTATION];
      assert.ok(shown, `${tool.name} has a presentation`);
      assert.equal(tool.title, shown.title);
      assert.equal(tool.annotations?.title, shown.title);
      assert.deepEqual(tool.icons, iconList(shown.icons), `${tool.name} shows its icons`);
    }
    const { prompts } = await client.listPrompts();
    assert.deepEqual(
      prompts.map((prompt) => [prompt.name, prompt.title, prompt.icons]),
      Object.entries(PROMPT_PRESENTATION).map((
        [name, shown],
      ) => [name, shown.title, iconList(shown.icons)]),
    );
  },
});
