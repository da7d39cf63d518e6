/**
 * The fault matrix: every fault the fake upstream can inject, through every door of the real
 * processes — the stdio MCP server, MCP over Streamable HTTP, the predecessor's REST `POST /mcp`,
 * the OpenAI-compatible `/v1` and the CLI — ends in the documented error (kind, HTTP status, MCP
 * `isError` text, CLI exit code), stores nothing (catalog count and image directory unchanged, no
 * temporary file left), is counted in `/metrics`, and leaves the door healthy (the next normal
 * generation succeeds). Then the faults below the upstream: an unwritable image directory, KV lock
 * storms from a second process, a SIGKILL mid-generation, and an upstream slower than the timeout.
 *
 * One long-lived process per door; retries off and a short upstream timeout keep it bounded.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AppError, type ErrorKind, errorKindInfo } from "../../src/errors.ts";
import { errorBody } from "../../src/http/errors.ts";
import { PRIVATE_DIR_NAME } from "../../src/images/folder.ts";
import { classifyFileName } from "../../src/images/ids.ts";
import { type FakeOpenAI, FAULT_NAMES, startFakeOpenAI } from "../fake_openai.ts";
import { runCli, stdoutJson, tempDataDir } from "./support/cli.ts";
import { type HttpServerProcess, startHttpServer } from "./support/http_server.ts";
import {
  Client,
  MAIN_MCP,
  ROOT,
  startStdioServer,
  StdioClientTransport,
  StreamableHTTPClientTransport,
} from "./support/mcp_client.ts";
import { eventually } from "../support/eventually.ts";

const KEY = "sk-fault-matrix-key-0123456789";
/** Upstream timeout of every process here: `hang` ends after this. */
const TIMEOUT_MS = 2000;
const BASE_ENV: Record<string, string> = {
  OPENAI_API_KEY: KEY,
  OPENAI_MAX_RETRIES: "0",
  OPENAI_TIMEOUT_MS: String(TIMEOUT_MS),
  IMAGE_GENERATION_RATE_LIMIT: "10000",
  REQUEST_RATE_LIMIT: "100000/15m",
  LOG_LEVEL: "info",
};
/** A cheap, valid request besides its prompt. */
const SMALL = { size: "256x256", quality: "low" } as const;

/** The error kind each fault of the fake must end in, with retries off. */
const EXPECTED: Record<(typeof FAULT_NAMES)[number], ErrorKind> = {
  rate_limit: "upstream_rate_limited",
  rate_limit_once: "upstream_rate_limited",
  quota: "upstream_quota",
  moderation: "moderation_blocked",
  unauthorized: "upstream_auth",
  org_verification: "upstream_verification_required",
  billing: "upstream_quota",
  server_error: "upstream_unavailable",
  overloaded: "upstream_unavailable",
  malformed_json: "upstream_unavailable",
  reset: "upstream_unavailable",
  hang: "upstream_timeout",
  stream_error: "upstream_unavailable",
  stream_cut: "upstream_unavailable",
};

/** The SDK's clients leave an unref'd kill timer and sockets behind on close, by design. */
function processTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/** What a door answered, reduced to what the documentation promises for an error kind. */
interface Answer {
  /** The generation succeeded. */
  ok: boolean;
  /** Door-specific presentation of the failure, compared with {@link Door.presents}. */
  shown: string;
  /** Everything else, for assertion messages. */
  detail: string;
}

/** One way into the service. */
interface Door {
  readonly name: string;
  /** Directory the door's images are written to. */
  readonly imagesDir: string;
  /** Generates one image with `prompt`. */
  generate(prompt: string): Promise<Answer>;
  /** The documented presentation of `kind` at this door. */
  presents(kind: ErrorKind): string;
  /** Images in the catalog, as the door lists them (undefined: checked at the end instead). */
  catalogCount?(): Promise<number>;
  /** Prometheus text of the process, when it has one. */
  metrics?(): Promise<string>;
}

/**
 * Every entry of the image directory but the store's private folder, sorted; fails on a temporary
 * or unknown file.
 */
async function directoryState(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name !== PRIVATE_DIR_NAME) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  for (const name of names) {
    const kind = classifyFileName(name).kind;
    assert.ok(kind === "image" || kind === "thumb", `unexpected file in ${dir}: ${name}`);
  }
  return names.sort();
}

/** Value of `name{kind="<kind>"}` in Prometheus text (0 when absent). */
function counter(text: string, name: string, kind: string): number {
  const prefix = `${name}{kind="${kind}"} `;
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(prefix.length));
}

/** The `code` a `/v1` error body carries for `kind`. */
function openAiCode(kind: ErrorKind): string {
  const body = errorBody(new AppError(kind, "x"), { style: "openai" }).body as {
    error: { code: string };
  };
  return body.error.code;
}

type ToolResult = { content: { type: string; text?: string }[]; isError?: boolean };

function toolText(result: ToolResult): string {
  return result.content.filter((b) => b.type === "text").map((b) => b.text).join("\n");
}

/** A door over an MCP client (stdio or Streamable HTTP). */
function mcpDoor(
  name: string,
  client: InstanceType<typeof Client>,
  imagesDir: string,
  metrics?: () => Promise<string>,
): Door {
  return {
    name,
    imagesDir,
    async generate(prompt) {
      const result = await client.callTool(
        { name: "generate_image", arguments: { prompt, ...SMALL } },
        undefined,
        { timeout: 30_000 },
      ) as ToolResult;
      const text = toolText(result);
      const kind = /^Error \(([a-z_]+)\): \S/.exec(text)?.[1] ?? "?";
      return { ok: result.isError !== true, shown: `isError ${kind}`, detail: text };
    },
    presents: (kind) => `isError ${kind}`,
    async catalogCount() {
      const result = await client.callTool({
        name: "list_images",
        arguments: { limit: 100 },
      }) as ToolResult;
      assert.notEqual(result.isError, true, toolText(result));
      return result.content.filter((b) => b.type === "resource_link").length;
    },
    ...(metrics ? { metrics } : {}),
  };
}

/** A door over the HTTP service's REST or /v1 routes. */
function httpDoor(server: HttpServerProcess, style: "rest" | "v1"): Door {
  const path = style === "rest" ? "/mcp" : "/v1/images/generations";
  return {
    name: style === "rest" ? "REST POST /mcp" : "POST /v1/images/generations",
    imagesDir: join(server.dataDir, "images"),
    async generate(prompt) {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ prompt, ...SMALL }),
      });
      const text = await response.text();
      const body = JSON.parse(text);
      const code = style === "rest"
        ? (body.success === false && typeof body.error === "string" && body.error !== ""
          ? body.code
          : "?")
        : body.error?.code;
      return {
        ok: response.status === 200,
        shown: `${response.status} ${code}`,
        detail: text.slice(0, 400),
      };
    },
    presents: (kind) =>
      `${errorKindInfo(kind).status} ${style === "rest" ? kind : openAiCode(kind)}`,
    async catalogCount() {
      const response = await fetch(`${server.url}/admin/images/stats`);
      assert.equal(response.status, 200);
      return (await response.json()).stats.count;
    },
    metrics: () => fetch(`${server.url}/metrics`).then((r) => r.text()),
  };
}

/**
 * Runs every fault through `door`, then `latency`, checking all the promises of the matrix. A
 * long-lived door proves its health after every fault; a door that is a new process per call
 * (the CLI) only at the end.
 */
async function runMatrix(
  door: Door,
  fake: FakeOpenAI,
  options: { healthAfterEach?: boolean } = {},
): Promise<void> {
  assert.deepEqual(Object.keys(EXPECTED).sort(), [...FAULT_NAMES].sort(), "every fault mapped");
  for (const [fault, kind] of Object.entries(EXPECTED) as [string, ErrorKind][]) {
    const where = `${door.name} × ${fault}`;
    const countBefore = await door.catalogCount?.();
    const filesBefore = await directoryState(door.imagesDir);
    const metricsBefore = await door.metrics?.();
    const answer = await door.generate(`${door.name} ${fault} [fault:${fault}]`);
    assert.equal(answer.ok, false, `${where} succeeded: ${answer.detail}`);
    assert.equal(answer.shown, door.presents(kind), `${where}: ${answer.detail}`);
    assert.equal(fake.lastRequest?.fault, fault, `${where}: the fake applied the fault`);

    assert.deepEqual(await directoryState(door.imagesDir), filesBefore, `${where}: files`);
    if (countBefore !== undefined) {
      assert.equal(await door.catalogCount!(), countBefore, `${where}: catalog`);
    }
    if (metricsBefore !== undefined) {
      const metricsAfter = await door.metrics!();
      for (const name of ["image_generation_errors_total", "upstream_errors_total"]) {
        assert.equal(
          counter(metricsAfter, name, kind) - counter(metricsBefore, name, kind),
          1,
          `${where}: ${name}{kind="${kind}"}`,
        );
      }
    }

    if (options.healthAfterEach === false) continue;
    const healthy = await door.generate(`${door.name} after ${fault}: a calm lake at noon`);
    assert.equal(healthy.ok, true, `${where}: the next generation failed: ${healthy.detail}`);
    const filesAfter = await directoryState(door.imagesDir);
    const images = (names: string[]) =>
      names.filter((n) => classifyFileName(n).kind === "image").length;
    assert.equal(images(filesAfter), images(filesBefore) + 1, `${where}: one image file more`);
    if (countBefore !== undefined) {
      assert.equal(await door.catalogCount!(), countBefore + 1, `${where}: one record more`);
    }
  }
  const slowButInTime = await door.generate(`${door.name} [fault:latency=300] slow but in time`);
  assert.equal(slowButInTime.ok, true, slowButInTime.detail);
}

processTest("fault matrix: the stdio MCP server (streaming partial images)", async () => {
  await using fake = await startFakeOpenAI();
  // MCP_PARTIAL_IMAGES=1 makes every upstream call stream, so the stream faults hit mid-stream.
  await using session = await startStdioServer({
    ...BASE_ENV,
    OPENAI_BASE_URL: fake.baseUrl,
    MCP_PARTIAL_IMAGES: "1",
  });
  try {
    const door = mcpDoor("stdio MCP", session.client, join(session.dataDir, "images"));
    await runMatrix(door, fake);
    const streamed = fake.requests.filter((r) => r.fields?.stream === true);
    assert.ok(streamed.length >= FAULT_NAMES.length, "the stdio door streamed its calls");
  } catch (error) {
    console.error(`--- stdio server stderr ---\n${session.stderr()}`);
    throw error;
  }
});

processTest("fault matrix: MCP over Streamable HTTP", async () => {
  await using fake = await startFakeOpenAI();
  await using server = await startHttpServer({ ...BASE_ENV, OPENAI_BASE_URL: fake.baseUrl });
  const client = new Client({ name: "fault-matrix", version: "1.0.0" });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    const metrics = () => fetch(`${server.url}/metrics`).then((r) => r.text());
    await runMatrix(mcpDoor("HTTP MCP", client, join(server.dataDir, "images"), metrics), fake);
    const text = await metrics();
    assert.match(text, /image_generations_total\{model="gpt-image-2",outcome="error",door="mcp"\}/);
  } catch (error) {
    console.error(`--- HTTP server stderr ---\n${server.stderr()}`);
    throw error;
  } finally {
    await client.close();
  }
});

processTest("fault matrix: REST POST /mcp, and an upstream slower than the timeout", async () => {
  await using fake = await startFakeOpenAI();
  await using server = await startHttpServer({ ...BASE_ENV, OPENAI_BASE_URL: fake.baseUrl });
  try {
    const door = httpDoor(server, "rest");
    await runMatrix(door, fake);

    // Not a hang: the upstream answers, but later than OPENAI_TIMEOUT_MS.
    const before = await door.catalogCount!();
    const slow = await door.generate(`[fault:latency=${TIMEOUT_MS + 1500}] too slow`);
    assert.equal(slow.shown, "504 upstream_timeout", slow.detail);
    assert.match(slow.detail, /did not answer within 2 s.*OPENAI_TIMEOUT_MS/);
    assert.equal(await door.catalogCount!(), before);
    await eventually(() => fake.stats.inFlight === 0, "the slow upstream call to end", 10_000);
    assert.equal(await door.catalogCount!(), before, "the late answer is not stored either");
    await directoryState(door.imagesDir);
    const stored = /^images_stored_total (\d+)$/m.exec(await door.metrics!())?.[1];
    assert.equal(Number(stored), before, "images_stored_total counts every stored image");
  } catch (error) {
    console.error(`--- HTTP server stderr ---\n${server.stderr()}`);
    throw error;
  }
});

processTest("fault matrix: /v1, plain and streamed", async () => {
  await using fake = await startFakeOpenAI();
  await using server = await startHttpServer({ ...BASE_ENV, OPENAI_BASE_URL: fake.baseUrl });
  try {
    const door = httpDoor(server, "v1");
    await runMatrix(door, fake);

    // Streamed (`stream: true` with partial images): the failure arrives as an SSE error event.
    for (const fault of ["stream_error", "stream_cut", "malformed_json", "hang", "moderation"]) {
      const kind = EXPECTED[fault as keyof typeof EXPECTED];
      const before = await door.catalogCount!();
      const files = await directoryState(door.imagesDir);
      const response = await fetch(`${server.url}/v1/images/generations`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          prompt: `streamed [fault:${fault}]`,
          stream: true,
          partial_images: 1,
          ...SMALL,
        }),
      });
      const text = await response.text();
      const event = /event: error\ndata: (.*)\n/.exec(text);
      const code = event ? JSON.parse(event[1]).error?.code : `HTTP ${response.status}`;
      assert.equal(code, openAiCode(kind), `streamed ${fault}: ${text.slice(-400)}`);
      assert.equal(fake.lastRequest?.fields?.stream, true);
      assert.equal(await door.catalogCount!(), before);
      assert.deepEqual(await directoryState(door.imagesDir), files);
    }
    const healthy = await door.generate("after the streamed faults: a red kite");
    assert.equal(healthy.ok, true, healthy.detail);
  } catch (error) {
    console.error(`--- HTTP server stderr ---\n${server.stderr()}`);
    throw error;
  }
});

Deno.test("fault matrix: the CLI exits with each kind's code and stores nothing", async () => {
  await using fake = await startFakeOpenAI({ retryAfterMs: 100 });
  await using dir = await tempDataDir("fault-cli-");
  const env = { ...BASE_ENV, OPENAI_BASE_URL: fake.baseUrl, LOG_FORMAT: "json" };
  let successes = 0;
  const door: Door = {
    name: "CLI",
    imagesDir: join(dir.path, "images"),
    async generate(prompt) {
      const run = await runCli([
        "generate",
        prompt,
        "--json",
        "-s",
        SMALL.size,
        "-q",
        SMALL.quality,
      ], {
        dataDir: dir.path,
        env,
      });
      const body = run.stdout.trim() === "" ? {} : stdoutJson<{ error?: { kind: string } }>(run);
      if (run.code === 0) successes++;
      return {
        ok: run.code === 0,
        shown: `exit ${run.code} ${body.error?.kind ?? "-"}`,
        detail: `${run.stdout.slice(0, 300)}\n${run.stderr.slice(-500)}`,
      };
    },
    presents: (kind) => `exit ${errorKindInfo(kind).exitCode} ${kind}`,
  };
  await runMatrix(door, fake, { healthAfterEach: false });

  // With retries on, one 429 is retried after its retry-after and the generation succeeds.
  const retried = await runCli(
    ["generate", "retried [fault:rate_limit_once]", "--json", "-q", "low"],
    { dataDir: dir.path, env: { ...env, OPENAI_MAX_RETRIES: "2" } },
  );
  assert.equal(retried.code, 0, retried.stderr);
  successes++;
  const calls = fake.requests.filter((r) => r.fields?.prompt === "retried [fault:rate_limit_once]");
  assert.deepEqual(calls.map((r) => r.status), [429, 200]);

  // The catalog holds exactly the successful generations, each with its file.
  const listed = stdoutJson<{ items: { path: string }[] }>(
    await runCli(["images", "list", "--json", "--limit", "100"], { dataDir: dir.path, env }),
  );
  assert.equal(listed.items.length, successes);
  for (const item of listed.items) assert.ok((await Deno.stat(item.path)).isFile, item.path);
});

processTest(
  "an unwritable image directory gives a storage error and leaves nothing half-written",
  async () => {
    await using fake = await startFakeOpenAI();
    await using server = await startHttpServer({ ...BASE_ENV, OPENAI_BASE_URL: fake.baseUrl });
    const door = httpDoor(server, "rest");
    const images = door.imagesDir;
    try {
      assert.equal((await door.generate("before: a pear")).ok, true);
      const before = await directoryState(images);
      // Read-only for an ordinary user; root writes through mode bits, so a root run swaps the
      // directory for a file with the same name instead (writes then fail with "Not a directory").
      await Deno.chmod(images, 0o555);
      let swapped = false;
      try {
        await Deno.writeTextFile(join(images, ".probe"), "x");
        await Deno.remove(join(images, ".probe"));
        await Deno.chmod(images, 0o755);
        await Deno.rename(images, `${images}.aside`);
        await Deno.writeTextFile(images, "not a directory");
        swapped = true;
      } catch {
        // Writes are refused: the directory is read-only for this user.
      }
      const failed = await door.generate("while unwritable: a plum");
      assert.equal(failed.shown, "500 storage", failed.detail);
      assert.match(failed.detail, /Cannot save image: /);
      assert.doesNotMatch(failed.detail, /Internal error/);
      const metrics = await door.metrics!();
      assert.equal(counter(metrics, "image_generation_errors_total", "storage"), 1);
      if (swapped) {
        await Deno.remove(images);
        await Deno.rename(`${images}.aside`, images);
      } else {
        await Deno.chmod(images, 0o755);
      }
      assert.deepEqual(await directoryState(images), before, "no temporary or partial file");
      assert.equal(await door.catalogCount!(), 1, "no record without bytes");
      assert.equal((await door.generate("writable again: a fig")).ok, true);
      assert.equal(await door.catalogCount!(), 2);
    } catch (error) {
      console.error(`--- HTTP server stderr ---\n${server.stderr()}`);
      throw error;
    } finally {
      await Deno.chmod(images, 0o755).catch(() => {});
    }
  },
);

/** A second process doing atomic writes on `kvPath` as fast as it can until its stdin closes. */
function startKvHammer(kvPath: string) {
  const code = `
    const kv = await Deno.openKv(${JSON.stringify(kvPath)});
    let writes = 0, locked = 0, stop = false;
    (async () => { for await (const _ of Deno.stdin.readable) {} stop = true; })();
    console.log("ready");
    const payload = "x".repeat(4096);
    while (!stop) {
      const key = ["zz_hammer", writes % 64];
      try {
        const current = await kv.get(key);
        await kv.atomic().check(current).set(key, { payload, at: Date.now() })
          .sum(["zz_hammer_count"], 1n).commit();
        writes++;
      } catch (error) {
        if (String(error).includes("database is locked")) locked++; else throw error;
      }
    }
    kv.close();
    console.log(JSON.stringify({ writes, locked }));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  return { child, output };
}

processTest("generations succeed while a second process storms the same KV file", async () => {
  await using fake = await startFakeOpenAI();
  await using server = await startHttpServer({ ...BASE_ENV, OPENAI_BASE_URL: fake.baseUrl });
  const door = httpDoor(server, "rest");
  const kvPath = join(server.dataDir, "kv.sqlite3");
  const hammer = startKvHammer(kvPath);
  try {
    // Start generating once the storm is under way.
    const observer = await Deno.openKv(kvPath);
    try {
      await eventually(
        async () => {
          const count = await observer.get<Deno.KvU64>(["zz_hammer_count"]).catch(() => null);
          return (count?.value?.value ?? 0n) >= 100n;
        },
        "the second process to be writing",
        20_000,
      );
    } finally {
      observer.close();
    }
    const answers: Answer[] = [];
    for (let round = 0; round < 6; round++) {
      answers.push(
        ...await Promise.all(
          [0, 1, 2].map((i) => door.generate(`contention round ${round} image ${i}: a heron`)),
        ),
      );
    }
    for (const answer of answers) assert.equal(answer.ok, true, answer.detail);
    assert.equal(await door.catalogCount!(), 18);
    const files = await directoryState(door.imagesDir);
    assert.equal(files.filter((n) => classifyFileName(n).kind === "image").length, 18);
  } catch (error) {
    console.error(`--- HTTP server stderr ---\n${server.stderr()}`);
    throw error;
  } finally {
    await hammer.child.stdin.close();
    const output = await hammer.output;
    const report = new TextDecoder().decode(output.stdout).trim().split("\n").at(-1) ?? "";
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const { writes } = JSON.parse(report) as { writes: number; locked: number };
    assert.ok(writes > 0, `the hammer wrote: ${report}`);
    console.log(`KV hammer: ${report}`);
  }
});

processTest(
  "after a SIGKILL mid-generation and a restart, the job is not succeeded and nothing is orphaned",
  async () => {
    await using fake = await startFakeOpenAI();
    await using dir = await tempDataDir("fault-kill-");
    const env = {
      ...BASE_ENV,
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_TIMEOUT_MS: "60000",
      MCP_LONG_JOB_SECONDS: "0.5",
    };
    // Spawned here (not with startStdioServer) to know the pid.
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: ["run", "-P=mcp", "--config", `${ROOT}deno.json`, MAIN_MCP],
      cwd: dir.path,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: dir.path,
        DATA_DIR: dir.path,
        NO_COLOR: "1",
        LOG_FORMAT: "json",
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
        ...env,
      },
      stderr: "pipe",
    });
    const client = new Client({ name: "fault-kill", version: "1.0.0" });
    await client.connect(transport);
    let pendingId: string;
    try {
      const pending = await client.callTool({
        name: "generate_image",
        arguments: { prompt: "killed mid-flight [fault:latency=20000]", ...SMALL },
      }) as ToolResult;
      const text = toolText(pending);
      assert.notEqual(pending.isError, true, text);
      pendingId = /image:\/\/([0-9a-f-]{36})/.exec(JSON.stringify(pending))?.[1] ?? "";
      assert.ok(pendingId, `a pending image id in: ${text}`);
      await eventually(
        () => fake.stats.inFlight === 1,
        "the upstream call to be in flight",
        10_000,
      );
      Deno.kill(transport.pid!, "SIGKILL");
    } finally {
      await client.close().catch(() => {});
    }

    await using restarted = await startStdioServer(env, { dataDir: dir.path });
    const door = mcpDoor("restarted stdio MCP", restarted.client, join(dir.path, "images"));
    assert.equal(await door.catalogCount!(), 0, "no record without bytes");
    assert.deepEqual(await directoryState(door.imagesDir), [], "no orphan file");
    const lookup = await restarted.client.callTool({
      name: "get_image",
      arguments: { id: pendingId, wait_seconds: 0 },
    }) as ToolResult;
    const text = toolText(lookup);
    assert.doesNotMatch(JSON.stringify(lookup), /"type":"image"/, "no image for the killed job");
    assert.match(text, /pending|running|failed|cancel/i, text);
    console.log(`killed job after restart: ${text}`);
    assert.equal((await door.generate("after the restart: a quiet street")).ok, true);
  },
);
