/**
 * One policy, every door: each (door × role × operation) is tried for real — the HTTP service on a
 * socket (`/v1`, the predecessor's `POST /mcp`, MCP over HTTP with the SDK client, the gallery's
 * forms with a signed-in session), the stdio server and the CLI as subprocesses sharing its data
 * folder — and must give the answer docs/authorization.md documents: admins may do everything,
 * a user key only to its own images (a user key cannot delete another's image through any door),
 * the local stdio/CLI user and, with auth off, a loopback caller act as the admin.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createApiKey } from "../../src/auth/mod.ts";
import { type Config, resolveConfig } from "../../src/config.ts";
import { type HttpService, startHttpService } from "../../src/http_door.ts";
import { startFakeOpenAI } from "../fake_openai.ts";
import { runCli } from "./support/cli.ts";
import { Client, startStdioServer, StreamableHTTPClientTransport } from "./support/mcp_client.ts";
import { systemClock } from "../../src/clock.ts";
import { galleryBrowser } from "./support/gallery_browser.ts";

type DoorName = "v1" | "rest" | "remote_mcp" | "gallery" | "stdio" | "cli";
type Operation = "generate" | "edit" | "get" | "list" | "delete";
/** Whose image an operation targets: the caller's own or someone else's. */
type Target = "own" | "other";
type Answer = "allowed" | "refused";

/** A door as a caller sees it: each operation answers allowed/refused (list: the ids it shows). */
interface DoorClient extends AsyncDisposable {
  generate(): Promise<{ ok: boolean; id?: string }>;
  edit(id: string): Promise<boolean>;
  get(id: string): Promise<boolean>;
  list(): Promise<string[]>;
  delete(id: string): Promise<boolean>;
}

const ADMIN_TOKEN = "door-policy-admin-token-0123456789";

/** The documented answer (docs/authorization.md) for a role. */
function documented(role: "admin" | "user", op: Operation, target: Target): Answer {
  if (role === "admin" || op === "generate" || target === "own") return "allowed";
  return "refused";
}

// --- the doors ---------------------------------------------------------------------------------

function v1Door(base: string, token: string | undefined): DoorClient {
  const headers = { "Content-Type": "application/json", ...auth(token) };
  return {
    async generate() {
      const res = await fetch(`${base}/v1/images/generations`, {
        method: "POST",
        headers,
        body: JSON.stringify({ prompt: "a door", quality: "low", response_format: "url" }),
      });
      const body = await res.json();
      return { ok: res.ok, id: idOfUrl(body.data?.[0]?.url) };
    },
    async edit(id) {
      const res = await fetch(`${base}/v1/images/edits`, {
        method: "POST",
        headers,
        body: JSON.stringify({ prompt: "make it red", images: [id], quality: "low" }),
      });
      await res.body?.cancel();
      return res.ok;
    },
    async get(id) {
      const res = await fetch(`${base}/v1/images/${id}`, { headers });
      await res.body?.cancel();
      return res.ok;
    },
    async list() {
      const res = await fetch(`${base}/v1/images?limit=100`, { headers });
      return (await res.json()).data.map((item: { id: string }) => item.id);
    },
    async delete(id) {
      const res = await fetch(`${base}/v1/images/${id}`, { method: "DELETE", headers });
      await res.body?.cancel();
      return res.ok;
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function restDoor(base: string, token: string | undefined): Pick<DoorClient, "generate"> {
  return {
    async generate() {
      const res = await fetch(`${base}/mcp`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...auth(token) },
        body: JSON.stringify({ prompt: "a door", quality: "low" }),
      });
      const body = await res.json();
      return { ok: res.ok, id: body.data?.id };
    },
  };
}

type ToolClient = InstanceType<typeof Client>;

function mcpDoor(client: ToolClient, close: () => Promise<void>): DoorClient {
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args });
    const text = (result.content as { type: string; text?: string }[])
      .filter((block) => block.type === "text").map((block) => block.text).join("\n");
    return { ok: result.isError !== true, text };
  };
  const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  return {
    async generate() {
      const result = await client.callTool({
        name: "generate_image",
        arguments: { prompt: "a door", quality: "low" },
      });
      const link = (result.content as { type: string; uri?: string }[])
        .find((block) => block.type === "resource_link");
      return { ok: result.isError !== true, id: link?.uri?.replace("image://", "") };
    },
    edit: async (id) =>
      (await call("edit_image", { prompt: "make it red", images: [id], quality: "low" })).ok,
    get: async (id) => (await call("get_image", { id, wait_seconds: 0 })).ok,
    async list() {
      const { text } = await call("list_images", { limit: 100 });
      return text.split("\n").filter((line) => line.startsWith("- "))
        .map((line) => line.match(ID)![0]);
    },
    delete: async (id) => (await call("delete_image", { id })).ok,
    [Symbol.asyncDispose]: close,
  };
}

async function remoteMcpDoor(base: string, token: string | undefined): Promise<DoorClient> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: auth(token) },
  });
  const client = new Client({ name: "door-policy", version: "1.0.0" });
  await client.connect(transport);
  return mcpDoor(client, () => client.close());
}

/** The gallery through its forms, signed in with `token` (or anonymous with auth off). */
async function galleryDoor(base: string, token: string | undefined): Promise<DoorClient> {
  const { request, csrfOf, post } = galleryBrowser(base);
  if (token !== undefined) {
    const signIn = await post("/login", { key: token, next: "/", _csrf: await csrfOf("/login") });
    assert.equal(signIn.status, 303, "signed in to the gallery");
    await signIn.body?.cancel();
  }
  const jobImage = async (res: Response) => {
    await res.body?.cancel();
    const location = res.headers.get("location") ?? "";
    if (res.status !== 303 || !location.startsWith("/jobs/")) return { ok: false };
    // Follow the job to its image through the event stream.
    const events = await (await request(`${location}/events`)).text();
    const id = /"imageIds":\["([^"]+)"/.exec(events)?.[1];
    return { ok: id !== undefined, ...(id ? { id } : {}) };
  };
  return {
    async generate() {
      const csrf = await csrfOf("/generate");
      return await jobImage(
        await post("/generate", { prompt: "a door", quality: "low", _csrf: csrf }),
      );
    },
    async edit(id) {
      const csrf = await csrfOf("/generate");
      return (await jobImage(
        await post(`/gallery/${id}/edit`, { prompt: "make it red", _csrf: csrf }),
      )).ok;
    },
    async get(id) {
      const res = await request(`/gallery/${id}`);
      await res.body?.cancel();
      return res.ok;
    },
    async list() {
      const html = await (await request("/")).text();
      return [...new Set([...html.matchAll(/href="\/gallery\/([^"/]+)"/g)].map((m) => m[1]))];
    },
    async delete(id) {
      const res = await post(`/gallery/${id}/delete`, { _csrf: await csrfOf("/generate") });
      await res.body?.cancel();
      return res.status === 303 && res.headers.get("location") === "/?notice=deleted";
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function cliDoor(dataDir: string, env: Record<string, string>): DoorClient {
  const cli = (args: string[]) => runCli([...args, "--json"], { dataDir, env });
  return {
    async generate() {
      const run = await cli(["generate", "a door", "-q", "low"]);
      return { ok: run.code === 0, id: JSON.parse(run.stdout || "{}").images?.[0]?.id };
    },
    edit: async (id) =>
      (await cli(["edit", id, "--prompt", "make it red", "-q", "low"])).code === 0,
    get: async (id) => (await cli(["images", "list", "--all"])).stdout.includes(id),
    async list() {
      const run = await cli(["images", "list", "--limit", "100"]);
      return JSON.parse(run.stdout).items.map((item: { id: string }) => item.id);
    },
    delete: async (id) => (await cli(["images", "delete", id])).code === 0,
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function auth(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { Authorization: `Bearer ${token}` };
}

function idOfUrl(url: string | undefined): string | undefined {
  return url?.match(/\/images\/([0-9a-f-]{36})\./)?.[1];
}

// --- the service -------------------------------------------------------------------------------

interface Setup extends AsyncDisposable {
  readonly base: string;
  readonly config: Config;
  readonly dataDir: string;
  /** Environment a stdio server or CLI needs to share the service's data folder and upstream. */
  readonly env: Record<string, string>;
}

async function serve(env: Record<string, string>): Promise<Setup> {
  const upstream = await startFakeOpenAI();
  const dataDir = await Deno.makeTempDir({ prefix: "door-policy-" });
  const shared = {
    OPENAI_API_KEY: "sk-test-door-policy-0123",
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_MAX_RETRIES: "0",
    IMAGE_GENERATION_RATE_LIMIT: "1000",
    LOG_LEVEL: "warning",
  };
  const config = resolveConfig({
    env: { ...shared, DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: "0", ...env },
    dotenv: {},
    flags: {},
  });
  const service: HttpService | undefined = await startHttpService(config);
  assert.ok(service, "the HTTP service started");
  return {
    base: service.url,
    config,
    dataDir,
    env: shared,
    async [Symbol.asyncDispose]() {
      await service.shutdown(5_000);
      await upstream.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Runs `op` on `door` against a fresh image of `owner` and says whether it was allowed. */
async function attempt(
  door: DoorClient,
  op: Operation,
  target: () => Promise<string>,
): Promise<Answer> {
  if (op === "generate") return (await door.generate()).ok ? "allowed" : "refused";
  const id = await target();
  switch (op) {
    case "edit":
      return (await door.edit(id)) ? "allowed" : "refused";
    case "get":
      return (await door.get(id)) ? "allowed" : "refused";
    case "list":
      return (await door.list()).includes(id) ? "allowed" : "refused";
    case "delete":
      return (await door.delete(id)) ? "allowed" : "refused";
  }
}

const OPERATIONS: readonly Operation[] = ["generate", "edit", "get", "list", "delete"];

Deno.test({
  name:
    "every door gives each role the documented answer; a user key cannot delete another's image anywhere",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await serve({ MCP_AUTH_TOKEN: ADMIN_TOKEN });
    const kv = await Deno.openKv(setup.config.kvPath);
    const alice = (await createApiKey(kv, { name: "alice", role: "user", now: systemClock })).key;
    const admin = (await createApiKey(kv, { name: "root", role: "admin", now: systemClock })).key;
    kv.close();
    // Images to act on: made through /v1 by their owner, a fresh one per attempt.
    const imageOf = (token: string) => async () => {
      const made = await v1Door(setup.base, token).generate();
      assert.ok(made.ok && made.id, "an image to act on");
      return made.id;
    };

    const doors: Record<string, (token: string) => Promise<DoorClient>> = {
      v1: (token) => Promise.resolve(v1Door(setup.base, token)),
      remote_mcp: (token) => remoteMcpDoor(setup.base, token),
      gallery: (token) => galleryDoor(setup.base, token),
    };
    const seen: string[] = [];
    const expected: string[] = [];
    for (const [doorName, open] of Object.entries(doors)) {
      for (const [role, token] of [["admin", admin], ["user", alice]] as const) {
        await using door = await open(token);
        for (const op of OPERATIONS) {
          for (const target of op === "generate" ? ["own"] as const : ["own", "other"] as const) {
            const owner = target === "own" ? token : role === "admin" ? alice : admin;
            const label = `${doorName} × ${role} × ${op} (${target})`;
            seen.push(`${label}: ${await attempt(door, op, imageOf(owner))}`);
            expected.push(`${label}: ${documented(role, op, target)}`);
          }
        }
      }
    }
    for (const [role, token] of [["admin", admin], ["user", alice]] as const) {
      const label = `rest × ${role} × generate (own)`;
      seen.push(
        `${label}: ${(await restDoor(setup.base, token).generate()).ok ? "allowed" : "refused"}`,
      );
      expected.push(`${label}: ${documented(role, "generate", "own")}`);
    }
    // The stdio server and the CLI act for the local user, an admin: someone else's image is theirs
    // to read, list and delete too.
    await using stdio = await startStdioServer(setup.env, { dataDir: setup.dataDir });
    const local: Record<string, DoorClient> = {
      stdio: mcpDoor(stdio.client, () => Promise.resolve()),
      cli: cliDoor(setup.dataDir, setup.env),
    };
    for (const [doorName, door] of Object.entries(local)) {
      for (const op of OPERATIONS) {
        const label = `${doorName} × local admin × ${op} (other)`;
        seen.push(`${label}: ${await attempt(door, op, imageOf(alice))}`);
        expected.push(`${label}: allowed`);
      }
    }
    assert.deepEqual(seen, expected);
  },
});

Deno.test({
  name: "with auth off a loopback caller acts as the admin in every HTTP door",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await serve({});
    // Someone else's image: made by the local CLI user in the same data folder.
    const cli = cliDoor(setup.dataDir, setup.env);
    const other = async () => {
      const made = await cli.generate();
      assert.ok(made.ok && made.id, "an image of the local user");
      return made.id;
    };
    const seen: string[] = [];
    const doors = {
      v1: () => Promise.resolve(v1Door(setup.base, undefined)),
      remote_mcp: () => remoteMcpDoor(setup.base, undefined),
      gallery: () => galleryDoor(setup.base, undefined),
    };
    for (const [doorName, open] of Object.entries(doors)) {
      await using door = await open();
      for (const op of ["get", "list", "delete"] as const) {
        seen.push(`${doorName} × anonymous loopback × ${op}: ${await attempt(door, op, other)}`);
      }
    }
    const rest = await restDoor(setup.base, undefined).generate();
    seen.push(`rest × anonymous loopback × generate: ${rest.ok ? "allowed" : "refused"}`);
    assert.deepEqual(seen.filter((line) => !line.endsWith("allowed")), []);
  },
});

Deno.test({
  name:
    "a bad request is a 400 (or an invalid-params tool error) in every door and takes no allowance",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using setup = await serve({ IMAGE_GENERATION_RATE_LIMIT: "1" });
    const bad = { prompt: "x", size: "huge" };
    const v1 = await fetch(`${setup.base}/v1/images/generations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(bad),
    });
    assert.equal(v1.status, 400);
    await v1.body?.cancel();
    const rest = await fetch(`${setup.base}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(bad),
    });
    assert.equal(rest.status, 400);
    await rest.body?.cancel();
    const form = await fetch(`${setup.base}/generate`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
    const cookie = form.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
    const gallery = await fetch(`${setup.base}/generate`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ prompt: "x", size: "huge", _csrf: csrf }).toString(),
      redirect: "manual",
    });
    assert.equal(gallery.status, 400);
    await gallery.body?.cancel();
    await using remote = await remoteMcpDoor(setup.base, undefined);
    assert.equal((await remote.generate()).ok, true, "the hour's one image is still there");
  },
});
