/**
 * The MCP server's image resources, through the SDK's client over its in-memory transport pair,
 * over a fake core: paging of resources/list, id completion, not-found and forbidden answers.
 */
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import type { Principal } from "../../src/core_types.ts";
import { createMcpServer } from "../../src/mcp/server.ts";
import { Client } from "../e2e/support/mcp_client.ts";
import { FakeImageService } from "../support/fake_image_service.ts";

const ADMIN = { id: "local", name: "local", role: "admin" } as const;

async function connect(images: FakeImageService, principal: Principal = ADMIN) {
  const config = resolveConfig({ env: { DATA_DIR: "/tmp/unused", KV_PATH: ":memory:" } });
  const server = createMcpServer(() => ({
    images,
    config,
    principal: () => principal,
    client: () => ({ name: "test" }),
    redact: (text) => text,
  }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "resources-test", version: "1.0.0" });
  await client.connect(clientSide);
  return {
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await server.close();
    },
  };
}

Deno.test("resources/list pages through every image, newest first", async () => {
  const images = new FakeImageService();
  const start = Date.UTC(2026, 10, 1);
  const seeded = [];
  for (let i = 0; i < 120; i++) seeded.push(await images.seed({ created: start + i * 1000 }));
  await using session = await connect(images);
  const uris: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await session.client.listResources(cursor ? { cursor } : {});
    uris.push(...page.resources.map((r) => r.uri));
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(uris, seeded.reverse().map((r) => `image://${r.id}`));
});

Deno.test("image ids complete from a prefix, and an unknown image is -32602 naming its URI", async () => {
  const images = new FakeImageService();
  const record = await images.seed();
  await using session = await connect(images);
  const completed = await session.client.complete({
    ref: { type: "ref/resource", uri: "image://{id}" },
    argument: { name: "id", value: record.id.slice(0, 8) },
  });
  assert.deepEqual(completed.completion.values, [record.id]);
  await assert.rejects(
    session.client.readResource({ uri: "image://0195f3c2-8d1e-7abc-9def-0123456789ab" }),
    (error: { code?: number; data?: { uri?: string } }) =>
      error.code === -32602 && error.data?.uri === "image://0195f3c2-8d1e-7abc-9def-0123456789ab",
  );
});

Deno.test("another key's image is -32602 naming its URI and why, never an internal error", async () => {
  const images = new FakeImageService();
  const record = await images.seed({ creator: "key_other" });
  await using session = await connect(images, { id: "key_mine", name: "mine", role: "user" });
  for (const uri of [`image://${record.id}`, `image://${record.id}/preview`]) {
    await assert.rejects(
      session.client.readResource({ uri }),
      (error: { code?: number; message?: string; data?: { uri?: string; kind?: string } }) => {
        assert.equal(error.code, -32602, error.message);
        assert.deepEqual(error.data, { uri, kind: "forbidden" });
        assert.match(error.message!, /belongs to another key/);
        return true;
      },
    );
  }
});

Deno.test("a resources/list cursor that is no cursor is -32602 naming it", async () => {
  const images = new FakeImageService();
  await using session = await connect(images);
  await assert.rejects(
    session.client.listResources({ cursor: "garbage!!" }),
    (error: { code?: number; message?: string; data?: { cursor?: string; kind?: string } }) => {
      assert.equal(error.code, -32602, error.message);
      assert.deepEqual(error.data, { cursor: "garbage!!", kind: "validation" });
      return true;
    },
  );
});
