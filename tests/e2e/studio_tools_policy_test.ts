/**
 * The studio's app-only tools over MCP on HTTP, called with user keys: they read through the core
 * as the caller, so one key cannot read another's private image part, and the browser lists only
 * the key's own images.
 */
import assert from "node:assert/strict";
import { APP_MIME_TYPE, APPS_EXTENSION_ID } from "../../src/mcp/apps/mod.ts";
import { withHttpService } from "./support/http_server.ts";
import { Client, StreamableHTTPClientTransport } from "./support/mcp_client.ts";

const ADMIN = "admin-token-studio-policy-0123456789";

type Structured = { images: { id: string }[]; id?: string; data?: string };

Deno.test("a user key reads and browses only its own images through the studio's tools", async () => {
  const env = { MCP_AUTH_TOKEN: ADMIN, IMAGES_PUBLIC: "false", IMAGE_GENERATION_RATE_LIMIT: "100" };
  await withHttpService(env, async ({ server }) => {
    const keyFor = async (name: string) => {
      const response = await fetch(`${server.url}/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ name, role: "user" }),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { key: string }).key;
    };
    const studioOf = async (key: string) => {
      const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      });
      const client = new Client({ name: "studio-host", version: "1.0.0" }, {
        capabilities: { extensions: { [APPS_EXTENSION_ID]: { mimeTypes: [APP_MIME_TYPE] } } },
      });
      await client.connect(transport);
      return client;
    };
    const alice = await studioOf(await keyFor("alice"));
    const bob = await studioOf(await keyFor("bob"));
    try {
      const made = async (client: Client, prompt: string) => {
        const result = await client.callTool({
          name: "generate_image",
          arguments: { prompt, quality: "low" },
        });
        assert.ok(!result.isError, JSON.stringify(result.content));
        const link = (result.content as { type: string; uri?: string }[])
          .find((block) => block.type === "resource_link");
        return String(link?.uri).replace("image://", "");
      };
      const alices = await made(alice, "alice's lighthouse");
      const bobs = await made(bob, "bob's barn");

      const own = await alice.callTool({ name: "read_image_part", arguments: { id: alices } });
      assert.ok(!own.isError, JSON.stringify(own.content));
      assert.equal((own.structuredContent as Structured).id, alices);
      const other = await bob.callTool({ name: "read_image_part", arguments: { id: alices } });
      assert.equal(other.isError, true, "another key's image is refused");
      assert.equal(other.structuredContent, undefined, "no bytes in the refusal");

      for (const [client, mine, theirs] of [[alice, alices, bobs], [bob, bobs, alices]] as const) {
        const page = await client.callTool({ name: "browse_images", arguments: {} });
        const ids = (page.structuredContent as Structured).images.map((image) => image.id);
        assert.ok(ids.includes(mine), "the key's own image is listed");
        assert.ok(!ids.includes(theirs), "another key's image is not");
      }
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
