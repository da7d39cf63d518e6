/**
 * Modules that must work under a narrow permission set, each checked in a child process run with
 * exactly that set (the test process has the broad `test` set).
 *
 * @module
 */
import assert from "node:assert/strict";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { runDenoScript } from "./support/deno_script.ts";

const src = (path: string) => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href);

Deno.test("importing the codec and sniffing needs no permission and loads no engine", async () => {
  // A PNG signature and IHDR chunk for a 5x3 image: enough for the header parser.
  const script = `
    const { sniffImage } = await import(${src("images/codec.ts")});
    const header = [137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 5, 0, 0, 0, 3];
    const sniffed = sniffImage(new Uint8Array(header));
    if (sniffed?.width !== 5 || sniffed?.height !== 3) throw new Error("bad sniff");
  `;
  const output = await runDenoScript(script, ["--no-prompt"]);
  assert.equal(output.code, 0, output.stderr);
});

Deno.test("default process metrics work under the http permission set", async () => {
  const script = `
    import { createMetrics } from ${src("metrics.ts")};
    const metrics = createMetrics();
    const text = await metrics.metricsText();
    const json = await metrics.metricsJson();
    console.log(JSON.stringify({
      rss: text.includes("\\nprocess_resident_memory_bytes "),
      heap: json.gauges.some((g) => g.name === "nodejs_heap_size_used_bytes"),
    }));
  `;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const output = await runDenoScript(script, ["--config", config, "-P=http"]);
  assert.equal(output.code, 0, output.stderr);
  assert.doesNotMatch(output.stderr, /NotCapable|PermissionDenied/);
  assert.deepEqual(JSON.parse(output.stdout), { rss: true, heap: true });
});

Deno.test("the default pinned client sends a request for a host name to the given address", async () => {
  // A child process, because fetch checks net permission for the URL's host name.
  const hosts: (string | null)[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    hosts.push(req.headers.get("host"));
    return new Response(TINY_PNG, { headers: { "content-type": "image/png" } });
  });
  const script = `
    import { pinnedDenoClient } from ${src("net/mod.ts")};
    const client = pinnedDenoClient("127.0.0.1", ${server.addr.port});
    const response = await fetch("http://pinned.example.test/cat.png", { client });
    await response.body?.cancel();
    client.close();
    console.log(response.status);
  `;
  const output = await runDenoScript(script, [
    "--no-config",
    "--allow-net=127.0.0.1,pinned.example.test",
  ]);
  assert.equal(output.code, 0, output.stderr);
  assert.equal(output.stdout.trim(), "200");
  assert.deepEqual(hosts, ["pinned.example.test"]);
});
