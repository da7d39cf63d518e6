/**
 * End-to-end: `/ready` of the real HTTP service proves the KV, the catalog and the image store can
 * be written (a probe commit, a probe file written and removed in the hidden folder of
 * `OUTPUT_DIR`), on every call, and answers 503 with a reason as soon as the store cannot be.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withHttpService } from "./support/http_server.ts";

async function ready(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/ready`);
  return { status: response.status, body: await response.json() };
}

Deno.test("/ready proves the KV, the catalog and the image store accept writes, on every call", async () => {
  await withHttpService({}, async ({ server }) => {
    const images = join(server.dataDir, "images");
    const first = await ready(server.url);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.checks, {
      kv: "ok",
      catalog: "ok",
      store: "ok",
      openai_api_key: "ok",
    });
    const hidden = join(images, ".openai-image-gen");
    const probes = (await Array.fromAsync(Deno.readDir(hidden))).filter((e) =>
      e.name.includes("probe")
    );
    assert.deepEqual(probes, [], "no probe file is left");

    // The images folder is replaced by a file (a vanished mount, a wrong path): reads of the KV
    // still work, writes to the store cannot.
    await Deno.rename(images, `${images}.away`);
    await Deno.writeTextFile(images, "not a folder");
    const broken = await ready(server.url);
    assert.equal(broken.status, 503);
    assert.deepEqual(broken.body.failed, ["store"]);
    const reason = (broken.body.checks as Record<string, string>).store;
    assert.match(reason, /^failed: The images directory \(OUTPUT_DIR\) is not writable: \w+/);
    assert.ok(!reason.includes(server.dataDir), "an unauthenticated caller is not shown the path");

    await Deno.remove(images);
    await Deno.rename(`${images}.away`, images);
    assert.equal((await ready(server.url)).status, 200, "ready again once it can write");
  });
});
