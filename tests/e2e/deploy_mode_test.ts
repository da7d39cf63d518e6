/**
 * Deploy mode as Deno Deploy runs the service: `DENO_DEPLOY=true` (images as KV blobs, no local
 * files), a read-only data directory and `--deny-write` on top of the `http` permission set, so
 * any attempt to write to disk fails the run. KV is `:memory:` here; on Deploy `Deno.openKv()`
 * takes the managed database (locally it would write a file in DENO_DIR, outside the permission
 * system). Deploy evicts an instance with SIGINT, so SIGINT must drain in-flight work.
 */
import assert from "node:assert/strict";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { sha256Hex } from "./support/fleet.ts";
import { type HttpServerProcess, spawnHttpService } from "./support/http_server.ts";
import { eventually } from "../support/eventually.ts";

const TOKEN = "deploy-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, "content-type": "application/json" };

/** Runs `body` against a Deploy-mode instance whose data directory is read-only. */
async function withDeployInstance(
  fake: FakeOpenAI,
  body: (instance: HttpServerProcess) => Promise<void>,
): Promise<{ dataDirEntries: string[]; stderr: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "deploy-mode-" });
  let instance: HttpServerProcess | undefined;
  try {
    await Deno.chmod(dataDir, 0o555);
    instance = await spawnHttpService({
      DENO_DEPLOY: "true",
      // Deploy binds publicly (0.0.0.0); this machine's tests stay on loopback.
      HOST: "127.0.0.1",
      KV_PATH: ":memory:",
      OPENAI_API_KEY: "sk-test-deploy-0123456789",
      OPENAI_BASE_URL: fake.baseUrl,
      MCP_AUTH_TOKEN: TOKEN,
    }, { name: "deploy", dataDir, denoFlags: ["--deny-write"] });
    await body(instance);
    await instance.stop();
    const dataDirEntries = [];
    for await (const entry of Deno.readDir(dataDir)) dataDirEntries.push(entry.name);
    return { dataDirEntries, stderr: instance.stderr() };
  } finally {
    await instance?.stop(2_000);
    await Deno.chmod(dataDir, 0o755);
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Reads `url` (an image URL the service answered) and returns the SHA-256 of its bytes. */
async function imageSha(url: string): Promise<string> {
  const response = await fetch(url);
  const bytes = new Uint8Array(await response.arrayBuffer());
  assert.equal(response.status, 200, `GET ${url}`);
  assert.equal(response.headers.get("content-type"), "image/png");
  return await sha256Hex(bytes);
}

/** `GET /v1/images/{id}` on `instance`. */
async function imageRecord(
  instance: HttpServerProcess,
  id: string,
): Promise<{ id: string; url: string; sha256: string }> {
  const response = await fetch(`${instance.url}/v1/images/${id}`, { headers: AUTH });
  const body = await response.json();
  assert.equal(response.status, 200, `GET /v1/images/${id}: ${JSON.stringify(body)}`);
  return body;
}

Deno.test("Deploy mode generates and serves images through /v1 and the legacy API without writing to disk", async () => {
  await using fake = await startFakeOpenAI({ latencyMs: 10 });
  const outcome = await withDeployInstance(fake, async (instance) => {
    // The OpenAI-compatible door.
    const v1 = await fetch(`${instance.url}/v1/images/generations`, {
      method: "POST",
      headers: JSON_AUTH,
      body: JSON.stringify({ prompt: "a lighthouse at dawn", response_format: "url" }),
    });
    const v1Body = await v1.json();
    assert.equal(v1.status, 200, JSON.stringify(v1Body));
    const v1Url: string = v1Body.data[0].url;
    const list = await fetch(`${instance.url}/v1/images`, { headers: AUTH });
    const listed = (await list.json()).data as { id: string; url: string }[];
    assert.equal(listed.length, 1);
    assert.equal(listed[0].url, v1Url);
    const v1Record = await imageRecord(instance, listed[0].id);
    assert.equal(await imageSha(v1Url), v1Record.sha256);

    // The predecessor's REST door on POST /mcp.
    const legacy = await fetch(`${instance.url}/mcp`, {
      method: "POST",
      headers: JSON_AUTH,
      body: JSON.stringify({ prompt: "a lighthouse at dusk" }),
    });
    const legacyBody = await legacy.json();
    assert.equal(legacy.status, 200, JSON.stringify(legacyBody));
    const image = legacyBody.data.images[0] as { id: string; url: string; filePath: unknown };
    assert.equal(image.filePath, null, "a KV-blob image has no local file");
    const legacyRecord = await imageRecord(instance, image.id);
    assert.equal(legacyRecord.url, image.url);
    assert.equal(await imageSha(image.url), legacyRecord.sha256);
    assert.notEqual(legacyRecord.sha256, v1Record.sha256);
    assert.equal(fake.stats.imagesProduced, 2);
  });
  assert.deepEqual(outcome.dataDirEntries, [], "nothing was written to the data directory");
  assert.doesNotMatch(outcome.stderr, /NotCapable|Requires write access|read-only file system/i);
});

Deno.test("Deploy mode drains an in-flight generation on SIGINT, then exits 0", async () => {
  await using fake = await startFakeOpenAI();
  let exitCode: number | undefined;
  const outcome = await withDeployInstance(fake, async (instance) => {
    const pending = fetch(`${instance.url}/v1/images/generations`, {
      method: "POST",
      headers: JSON_AUTH,
      body: JSON.stringify({ prompt: "[fault:latency=1500] a slow sunrise" }),
    });
    try {
      await eventually(() => fake.stats.inFlight === 1, "the upstream call", 20_000);
      instance.kill("SIGINT");
      const response = await pending;
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.data.length, 1);
      assert.ok((body.data[0].b64_json as string).length > 1000);
    } finally {
      await pending.then((r) => r.body?.cancel()).catch(() => {});
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    exitCode = await Promise.race([
      instance.exited,
      new Promise<number>((resolve) => timer = setTimeout(() => resolve(-1), 20_000)),
    ]);
    clearTimeout(timer);
  });
  assert.equal(exitCode, 0, outcome.stderr);
  assert.equal(fake.stats.imagesProduced, 1);
  assert.match(outcome.stderr, /Shutting down/);
  assert.deepEqual(outcome.dataDirEntries, []);
});
