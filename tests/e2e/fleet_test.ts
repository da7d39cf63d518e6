/**
 * A fleet on one machine: three HTTP service processes sharing one KV file (the same code path as
 * a remote KV Connect database apart from the transport), each with its own data directory and
 * images kept as KV blobs, in front of one fake upstream. Everything the instances must agree on
 * — limits, the catalog, image bytes, cancels, cleanup — goes through KV.
 */
import assert from "node:assert/strict";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { runBounded, sha256Hex, startFleet } from "./support/fleet.ts";
import type { HttpServerProcess } from "./support/http_server.ts";
import { eventually } from "../support/eventually.ts";

const TOKEN = "fleet-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, "content-type": "application/json" };

function fleetEnv(fake: FakeOpenAI, extra: Record<string, string>): Record<string, string> {
  return {
    OPENAI_API_KEY: "sk-test-fleet-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    MCP_AUTH_TOKEN: TOKEN,
    IMAGE_STORE: "kv",
    MAX_INFLIGHT_PER_KEY: "0",
    REQUEST_RATE_LIMIT: "0",
    ...extra,
  };
}

/** The outcome of one `POST /v1/images/generations`. */
interface Generated {
  status: number;
  /** File names of the images in a 200 answer. */
  files: string[];
}

function fileOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split("/").at(-1)!);
}

async function generate(instance: HttpServerProcess, prompt: string): Promise<Generated> {
  const response = await fetch(`${instance.url}/v1/images/generations`, {
    method: "POST",
    headers: JSON_AUTH,
    body: JSON.stringify({ prompt, response_format: "url" }),
  });
  const body = await response.json();
  const files = response.status === 200
    ? (body.data as { url: string }[]).map((item) => fileOf(item.url))
    : [];
  return { status: response.status, files };
}

/** One image as `GET /v1/images` lists it. */
interface Listed {
  id: string;
  file: string;
  sha256: string;
}

/** The whole catalog as one instance lists it, newest first. */
async function listAll(instance: HttpServerProcess): Promise<Listed[]> {
  const out: Listed[] = [];
  let after: string | undefined;
  for (let page = 0; page < 20; page++) {
    const query = `limit=100${after === undefined ? "" : `&after=${after}`}`;
    const response = await fetch(`${instance.url}/v1/images?${query}`, { headers: AUTH });
    const body = await response.json();
    assert.equal(
      response.status,
      200,
      `GET /v1/images on ${instance.name}: ${JSON.stringify(body)}`,
    );
    for (const item of body.data as { id: string; url: string; sha256: string }[]) {
      out.push({ id: item.id, file: fileOf(item.url), sha256: item.sha256 });
    }
    if (!body.has_more) return out;
    after = body.last_id;
  }
  throw new Error(`GET /v1/images on ${instance.name} did not end within 20 pages`);
}

/** Reads `/images/<file>` from `instance`: status and SHA-256 of the bytes (null unless 200). */
async function readImage(
  instance: HttpServerProcess,
  file: string,
): Promise<{ status: number; sha256: string | null }> {
  const response = await fetch(`${instance.url}/images/${encodeURIComponent(file)}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  return {
    status: response.status,
    sha256: response.status === 200 ? await sha256Hex(bytes) : null,
  };
}

/** Asserts that every image in `images` reads back from every instance with its catalog SHA. */
async function assertReadableEverywhere(
  instances: readonly HttpServerProcess[],
  images: readonly Listed[],
): Promise<void> {
  await runBounded(images.length * instances.length, 8, async (i) => {
    const image = images[Math.floor(i / instances.length)];
    const instance = instances[i % instances.length];
    const read = await readImage(instance, image.file);
    assert.equal(read.status, 200, `${image.file} through ${instance.name}`);
    assert.equal(read.sha256, image.sha256, `bytes of ${image.file} through ${instance.name}`);
  });
}

Deno.test("three instances admit exactly the per-key hourly limit and each serves every image", async () => {
  const LIMIT = 20;
  await using fake = await startFakeOpenAI({ latencyMs: 30 });
  await using fleet = await startFleet(
    3,
    fleetEnv(fake, { IMAGE_GENERATION_RATE_LIMIT: String(LIMIT) }),
  );
  const { instances } = fleet;

  const results = await runBounded(
    LIMIT + 10,
    12,
    (i) => generate(instances[i % instances.length], `fleet image ${i}`),
  );
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, LIMIT, `statuses: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 429).length, 10, `statuses: ${statuses}`);
  // The refusals come from the shared limit, not from one instance's share of it.
  const perInstance = instances.map((_, k) =>
    results.filter((r, i) => i % instances.length === k && r.status === 200).length
  );
  assert.equal(perInstance.reduce((a, b) => a + b, 0), LIMIT);
  assert.equal(fake.stats.imagesProduced, LIMIT, "refused requests never reach the upstream");

  const generated = results.flatMap((r) => r.files).sort();
  assert.equal(generated.length, LIMIT);
  const listings = await Promise.all(instances.map(listAll));
  for (const [k, listing] of listings.entries()) {
    assert.deepEqual(
      listing.map((image) => image.file).sort(),
      generated,
      `catalog as listed by ${instances[k].name}`,
    );
    assert.deepEqual(listing, listings[0], `${instances[k].name} lists what A lists`);
  }
  await assertReadableEverywhere(instances, listings[0]);
});

Deno.test("a remote-MCP cancel sent to one instance stops the call running on another", async () => {
  await using fake = await startFakeOpenAI({ latencyMs: 10 });
  await using fleet = await startFleet(2, fleetEnv(fake, {}));
  const [a, b] = fleet.instances;
  const headers = { ...JSON_AUTH, accept: "application/json, text/event-stream" };
  const requestId = 4242;

  const call = fetch(`${a.url}/mcp`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: requestId,
      method: "tools/call",
      params: { name: "generate_image", arguments: { prompt: "[fault:hang] a slow lighthouse" } },
    }),
  });
  let answer: string | undefined;
  try {
    await eventually(() => fake.stats.inFlight === 1, "the upstream call of instance A", 20_000);
    // The call's request id is mapped to its job in KV just after the job starts; a cancel that
    // arrives before that finds nothing, so it is repeated (a bounded number of times) until the
    // upstream connection closes. Every cancel goes to B only.
    for (let attempt = 0; attempt < 5 && fake.stats.connectionsClosedByClient === 0; attempt++) {
      const cancel = await fetch(`${b.url}/mcp`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId, reason: "the user changed their mind" },
        }),
      });
      await cancel.body?.cancel();
      assert.equal(cancel.status, 202);
      await eventually(() => fake.stats.connectionsClosedByClient > 0, "the cancel", 2_000).catch(
        () => {},
      );
    }
    assert.equal(fake.stats.connectionsClosedByClient, 1, "A aborted its upstream call");
    assert.equal(fake.stats.imagesProduced, 0);
    const response = await call;
    answer = await response.text();
    assert.equal(response.status, 200);
  } finally {
    // Never leave the call hanging, whatever failed above.
    if (answer === undefined) await fleet.stop();
    await call.then((r) => r.body?.cancel()).catch(() => {});
  }
  assert.match(answer, /"id":4242/);
  assert.match(answer, /cancelled/i);
  assert.deepEqual(await listAll(b), [], "a cancelled generation stores nothing");
});

Deno.test("cleanup started on three instances at once leaves the state of a single run", async () => {
  const KEEP = 6;
  const TOTAL = 16;
  await using fake = await startFakeOpenAI();
  await using fleet = await startFleet(
    3,
    fleetEnv(fake, { IMAGE_GENERATION_RATE_LIMIT: "0", IMAGE_MAX_COUNT: String(KEEP) }),
  );
  const { instances } = fleet;
  const results = await runBounded(
    TOTAL,
    6,
    (i) => generate(instances[i % instances.length], `cleanup ${i}`),
  );
  assert.deepEqual(results.map((r) => r.status), Array(TOTAL).fill(200));
  const before = await listAll(instances[0]);
  assert.equal(before.length, TOTAL);
  // A single run keeps the newest IMAGE_MAX_COUNT images (the list is newest first).
  const kept = before.slice(0, KEEP);
  const doomed = before.slice(KEEP);

  const reports = await Promise.all(instances.map(async (instance) => {
    const response = await fetch(`${instance.url}/admin/images/cleanup`, {
      method: "POST",
      headers: JSON_AUTH,
      body: JSON.stringify({ dryRun: false }),
    });
    const body = await response.json();
    assert.equal(response.status, 200, `cleanup on ${instance.name}: ${JSON.stringify(body)}`);
    return body.results as { filesDeleted: number; deletedFiles: string[]; errors: unknown[] };
  }));
  for (const report of reports) assert.deepEqual(report.errors, []);
  const deleted = reports.flatMap((r) => r.deletedFiles);
  assert.equal(
    reports.reduce((sum, r) => sum + r.filesDeleted, 0),
    TOTAL - KEEP,
    `deleted per instance: ${reports.map((r) => r.filesDeleted)}`,
  );
  assert.deepEqual(deleted.sort(), doomed.map((image) => image.file).sort());

  for (const instance of instances) {
    assert.deepEqual(await listAll(instance), kept, `catalog as listed by ${instance.name}`);
  }
  await assertReadableEverywhere(instances, kept);
  for (const image of doomed) {
    for (const instance of instances) {
      const read = await readImage(instance, image.file);
      assert.equal(read.status, 404, `${image.file} through ${instance.name} after cleanup`);
    }
  }
  // Running the policy again finds nothing to do: the fleet is in the state one run leaves.
  const again = await fetch(`${instances[1].url}/admin/images/cleanup`, {
    method: "POST",
    headers: JSON_AUTH,
    body: JSON.stringify({ dryRun: false }),
  });
  assert.equal((await again.json()).results.filesDeleted, 0);
});

Deno.test("killing one instance mid-load loses no image another client was told about", async () => {
  const TOTAL = 60;
  const KILL_AFTER = 15;
  await using fake = await startFakeOpenAI({ latencyMs: 40 });
  await using fleet = await startFleet(3, fleetEnv(fake, { IMAGE_GENERATION_RATE_LIMIT: "0" }));
  const [a, b, c] = fleet.instances;
  let answered = 0;
  let killedAt: number | undefined;
  const outcomes = await runBounded(TOTAL, 12, async (i) => {
    const instance = fleet.instances[i % 3];
    try {
      const result = await generate(instance, `crash load ${i}`);
      return { instance, ...result };
    } catch (error) {
      return { instance, status: 0, files: [], error: String(error) };
    } finally {
      if (++answered === KILL_AFTER) {
        killedAt = answered;
        c.kill("SIGKILL");
      }
    }
  });
  assert.equal(killedAt, KILL_AFTER);
  assert.equal(await c.exited, 137, "C died of SIGKILL");

  const survivors = outcomes.filter((o) => o.instance !== c);
  assert.deepEqual(
    survivors.map((o) => o.status),
    Array(survivors.length).fill(200),
    "A and B answer every request while C dies",
  );
  const lostConnections = outcomes.filter((o) => o.instance === c && o.status === 0);
  assert.ok(lostConnections.length > 0, "some requests to C failed: it died mid-load");

  const acknowledged = outcomes.flatMap((o) => o.status === 200 ? o.files : []);
  const listings = await Promise.all([listAll(a), listAll(b)]);
  assert.deepEqual(listings[1], listings[0], "A and B list the same catalog");
  const listed = new Map(listings[0].map((image) => [image.file, image]));
  for (const file of acknowledged) assert.ok(listed.has(file), `acknowledged ${file} is listed`);
  // Every listed image is complete — including any C stored just before it died.
  await assertReadableEverywhere([a, b], listings[0]);
  assert.ok(listings[0].length <= fake.stats.imagesProduced);
});
