/**
 * What remote callers (every HTTP door) are told: never an absolute path of the server's disk —
 * REST `filePath` is relative to OUTPUT_DIR, edit-input refusals name the setting, not the
 * folders — and, with IMAGES_PUBLIC=false, image links in MCP results that open (signed). The real
 * HTTP service in this process, the fake upstream, raw HTTP and the MCP SDK's client.
 */
import assert from "node:assert/strict";
import { connectMcp, startInProcessService } from "./support/in_process.ts";

/** The SDK's client schedules reconnection timers it does not always clear (see remote_mcp_test). */
function sdkClientTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

sdkClientTest("REST filePath is relative to OUTPUT_DIR and names the saved file", async () => {
  await using service = await startInProcessService();
  const response = await fetch(`${service.url}/mcp`, {
    method: "POST",
    headers: { Authorization: `Bearer ${service.keys.alice}`, "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: "a lighthouse", quality: "low" }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  const filePath = body.data.filePath as string;
  assert.ok(!filePath.includes(service.dataDir), `no server path: ${filePath}`);
  assert.ok(!filePath.startsWith("/"), filePath);
  const onDisk = await Deno.readFile(`${service.dataDir}/images/${filePath}`);
  const served = await fetch(body.data.imageUrl);
  assert.deepEqual(new Uint8Array(await served.arrayBuffer()), onDisk);
});

sdkClientTest("edit-input refusals never name a folder of the server's disk", async () => {
  await using service = await startInProcessService();
  for (const ref of ["/etc/passwd", "missing.png", "~/cat.png", "/mnt/user-data/uploads/a.png"]) {
    const response = await fetch(`${service.url}/v1/images/edits`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${service.keys.alice}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ prompt: "make it blue", images: [{ image_url: ref }] }),
    });
    const body = await response.json();
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.match(body.error.message, /EDIT_ALLOWED_ROOTS/, ref);
    assert.ok(!body.error.message.includes(service.dataDir), body.error.message);
  }

  await using session = await connectMcp(service.url, service.keys.alice);
  const result = await session.client.callTool({
    name: "edit_image",
    arguments: { prompt: "make it blue", images: ["/etc/passwd"] },
  }) as { isError?: boolean; content: { type: string; text?: string }[] };
  assert.equal(result.isError, true);
  const text = result.content[0].text ?? "";
  assert.match(text, /outside the allowed folders/);
  assert.ok(!text.includes(service.dataDir), text);
});

sdkClientTest(
  "with IMAGES_PUBLIC=false the image links of MCP results are signed and open",
  async () => {
    await using service = await startInProcessService({ IMAGES_PUBLIC: "false" });
    await using session = await connectMcp(service.url, service.keys.alice);
    const result = await session.client.callTool({
      name: "generate_image",
      arguments: { prompt: "a red fox", quality: "low" },
    }) as {
      isError?: boolean;
      content: { type: string; text?: string }[];
      structuredContent?: { images: { url: string }[] };
    };
    assert.ok(!result.isError, JSON.stringify(result));
    const text = result.content.filter((b) => b.type === "text").map((b) => b.text).join("\n");
    const url = /^URL: (\S+)$/m.exec(text)?.[1];
    assert.ok(url, `a URL line in ${text}`);
    assert.match(url, /\?exp=\d+&sig=[A-Za-z0-9_-]+$/);
    const opened = await fetch(url);
    await opened.body?.cancel();
    assert.equal(opened.status, 200, "the link opens without credentials");
    assert.equal(opened.headers.get("content-type"), "image/png");

    const structured = result.structuredContent!.images[0].url;
    assert.match(structured, /\?exp=\d+&sig=/);

    const listed = await session.client.callTool({ name: "list_images", arguments: {} }) as {
      structuredContent?: { images: { url: string }[] };
    };
    assert.match(listed.structuredContent!.images[0].url, /\?exp=\d+&sig=/);

    const unsigned = await fetch(url.slice(0, url.indexOf("?")));
    await unsigned.body?.cancel();
    assert.equal(unsigned.status, 401, "the same link unsigned is refused");
  },
);
