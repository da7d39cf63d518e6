/**
 * Issue #14, "Trust first": the image store owns only what it wrote, and its catalog travels with
 * the image folder. Every door runs as a real process (CLI, stdio MCP server through the SDK
 * client, HTTP service) over an `OUTPUT_DIR` that also holds a person's own files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeOpenAI } from "../fake_openai.ts";
import { personalState, writePersonalFiles } from "../support/personal_files.ts";
import { fakePng, listDir, snapshotFiles } from "../unit/fixtures/image_store_fixture.ts";
import { runCli, stdoutJson, tempDataDir } from "./support/cli.ts";
import { spawnHttpService, TEST_OPENAI_KEY } from "./support/http_server.ts";
import { startStdioServer } from "./support/mcp_client.ts";

const PRIVATE = ".openai-image-gen";
const ADMIN = "admin-token-store-trust-0123456789";

function e2eTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

interface Listed {
  items: { id: string; fileName: string; prompt: string; door: string; path: string | null }[];
}

interface UnknownFiles {
  count: number;
  names: string[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

e2eTest(
  "images cleanup --dry-run on a new folder changes nothing at all, start-up included",
  async () => {
    await using dir = await tempDataDir("store-trust-dry-");
    const output = join(dir.path, "Pictures");
    const names = await writePersonalFiles(output);
    // A predecessor file: a real run would adopt it, a dry run only counts it.
    await Deno.writeFile(join(output, "image_1700000000000.png"), fakePng(64, 64, 600, 1));
    const before = await snapshotFiles(output);
    const run = await runCli(["images", "cleanup", "--dry-run", "--json"], {
      dataDir: dir.path,
      env: { OUTPUT_DIR: output },
    });
    assert.equal(run.code, 0, run.stderr);
    const report = stdoutJson<{
      dryRun: boolean;
      filesScanned: number;
      adoptedKept: number;
      unknownFiles: UnknownFiles;
    }>(run);
    assert.equal(report.dryRun, true);
    assert.equal(report.filesScanned, 1, "the predecessor file is counted as it would be adopted");
    assert.equal(report.adoptedKept, 1, "and kept: IMAGE_CLEANUP_ENABLED is off");
    assert.deepEqual(report.unknownFiles, { count: names.length, names });
    assert.deepEqual(await snapshotFiles(output), before);
    assert.deepEqual(await listDir(output), Object.keys(before).sort());
    assert.equal(await exists(join(output, PRIVATE)), false, "no private folder was created");
    assert.equal(await exists(join(dir.path, "kv.sqlite3")), false, "no KV file was created");
  },
);

e2eTest("no door and no cleanup path touches a person's files, dry-run or real", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir("store-trust-doors-");
  const output = join(dir.path, "Pictures");
  const names = await writePersonalFiles(output);
  const before = await personalState(output, names);
  const env = {
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    OUTPUT_DIR: output,
    IMAGE_GENERATION_RATE_LIMIT: "1000",
  };
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const run = await runCli(args, { dataDir: dir.path, env: { ...env, ...extra } });
    assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
    return run;
  };

  // The CLI door: generate, stats, a dry-run and a real cleanup that keeps everything.
  await cli(["generate", "a red fox in snow"]);
  const stats = stdoutJson<{ unknownFiles: UnknownFiles; stats: { count: number } }>(
    await cli(["images", "stats", "--json"]),
  );
  assert.equal(stats.stats.count, 1);
  assert.deepEqual(stats.unknownFiles, { count: names.length, names });
  await cli(["images", "cleanup", "--dry-run", "--retention-days", "0", "--max", "0"]);
  await cli(["images", "cleanup"]);

  // The stdio door, on its first tool call (start-up) and a generation.
  {
    await using mcp = await startStdioServer(env, { dataDir: dir.path });
    const result = await mcp.client.callTool(
      { name: "generate_image", arguments: { prompt: "a lighthouse" } },
      undefined,
      { timeout: 60_000 },
    ) as { isError?: boolean };
    assert.ok(!result.isError, mcp.stderr());
  }

  // The HTTP door: start-up, a generation, stats, dry-run and real admin cleanups.
  {
    const server = await spawnHttpService({ ...env, MCP_AUTH_TOKEN: ADMIN }, {
      dataDir: dir.path,
    });
    await using _server = server;
    const call = async (path: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${ADMIN}`);
      const response = await fetch(`${server.url}${path}`, { ...init, headers });
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      return body;
    };
    await call("/v1/images/generations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "a harbour at dawn" }),
    });
    const adminStats = await call("/admin/images/stats");
    assert.deepEqual(adminStats.unknownFiles, { count: names.length, names });
    assert.equal(adminStats.stats.count, 3);
    for (const dryRun of [true, false]) {
      const cleaned = await call("/admin/images/cleanup", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ dryRun }),
      });
      assert.deepEqual(cleaned.unknownFiles, { count: names.length, names });
      assert.equal(cleaned.dryRun, dryRun);
    }
    // None of the person's files is served, whatever its name.
    for (const name of [...names, PRIVATE, `${PRIVATE}/README.txt`]) {
      const response = await fetch(`${server.url}/images/${encodeURIComponent(name)}`);
      await response.body?.cancel();
      assert.equal(response.status, 404, name);
    }
  }

  // Retention with IMAGE_CLEANUP_ENABLED on deletes every image the store wrote — and only those.
  const cleanup = stdoutJson<{ filesDeleted: number; unknownFiles: UnknownFiles }>(
    await cli(
      ["images", "cleanup", "--retention-days", "0", "--max", "0", "--json"],
      { IMAGE_CLEANUP_ENABLED: "true" },
    ),
  );
  assert.equal(cleanup.filesDeleted, 3);
  assert.deepEqual(cleanup.unknownFiles, { count: names.length, names });

  assert.deepEqual(await personalState(output, names), before);
  assert.deepEqual(await listDir(output), names, "only the person's files are left");
});

e2eTest(
  "one catalog per image folder: processes of any DATA_DIR see the same images, a lost catalog is rebuilt",
  async () => {
    await using fake = await startFakeOpenAI();
    await using first = await tempDataDir("store-trust-a-");
    await using second = await tempDataDir("store-trust-b-");
    const output = join(first.path, "shared-images");
    const env = { OPENAI_API_KEY: TEST_OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl };
    // Two processes with different DATA_DIR and HOME open the new folder's catalog at once.
    const made = await Promise.all([
      runCli(["generate", "a red fox in snow"], {
        dataDir: first.path,
        env: { ...env, OUTPUT_DIR: output },
      }),
      runCli(["generate", "a lighthouse at dusk"], {
        dataDir: second.path,
        env: { ...env, OUTPUT_DIR: output },
      }),
    ]);
    for (const run of made) assert.equal(run.code, 0, run.stderr);
    const list = async (dataDir: string) => {
      const run = await runCli(["images", "list", "--all", "--json"], {
        dataDir,
        env: { OUTPUT_DIR: output },
      });
      assert.equal(run.code, 0, run.stderr);
      return stdoutJson<Listed>(run).items;
    };
    // The reproduction of the issue: any command of the first DATA_DIR without OUTPUT_DIR.
    const other = await runCli(["images", "stats", "--json"], { dataDir: first.path, env });
    assert.equal(other.code, 0, other.stderr);

    const seen = await list(second.path);
    assert.deepEqual(seen.map((r) => r.prompt).sort(), [
      "a lighthouse at dusk",
      "a red fox in snow",
    ]);
    assert.deepEqual(await list(first.path), seen);

    // The catalog is lost: the records come back from the folder's record files.
    for await (const entry of Deno.readDir(join(output, PRIVATE))) {
      if (entry.name.startsWith("catalog.sqlite3")) {
        await Deno.remove(
          join(output, PRIVATE, entry.name),
        );
      }
    }
    assert.deepEqual(await list(second.path), seen);
    assert.deepEqual(await listDir(output), seen.map((r) => r.fileName).sort());
  },
);

e2eTest(
  "a DATA_DIR written before folder catalogs lists every record after the upgrade",
  async () => {
    await using dir = await tempDataDir("store-trust-upgrade-");
    const fixture = new URL("../fixtures/main_catalog/", import.meta.url).pathname;
    for (const sub of ["images", "elsewhere"]) {
      await Deno.mkdir(join(dir.path, sub));
      for await (const entry of Deno.readDir(join(fixture, sub))) {
        await Deno.copyFile(join(fixture, sub, entry.name), join(dir.path, sub, entry.name));
      }
    }
    await Deno.copyFile(join(fixture, "kv.sqlite3"), join(dir.path, "kv.sqlite3"));
    const list = async (env: Record<string, string> = {}) => {
      const run = await runCli(["images", "list", "--all", "--json"], { dataDir: dir.path, env });
      assert.equal(run.code, 0, run.stderr);
      return stdoutJson<Listed>(run).items;
    };
    const upgraded = await list();
    assert.deepEqual(upgraded.map((r) => r.door).sort(), ["adopted", "cli", "mcp"]);
    assert.ok(upgraded.some((r) => r.prompt === "a red fox in snow"));
    assert.ok(upgraded.some((r) => r.prompt === "waves ".repeat(1000)), "long prompt intact");
    assert.ok(upgraded.some((r) => r.fileName === "image_1700000000000.png"));
    // The other folder's record was left alone, and moves with its own folder.
    const elsewhere = await list({ OUTPUT_DIR: join(dir.path, "elsewhere") });
    assert.deepEqual(elsewhere.map((r) => r.prompt), ["a lighthouse elsewhere"]);
    // Again: the import is done once, and nothing was lost or doubled.
    assert.deepEqual(await list(), upgraded);
    const stats = await runCli(["images", "stats", "--json"], { dataDir: dir.path });
    assert.equal(stdoutJson<{ stats: { count: number } }>(stats).stats.count, 3);
  },
);
