/**
 * The CLI's surface, run as a real process under the `cli` permission set: help, version, strict
 * option parsing, documented exit codes, `config check` (with and without the upstream) and
 * `models`.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../../src/cli/run.ts";
import { EXIT_CODES } from "../../src/cli/exit_codes.ts";
import { ERROR_KINDS, errorKindInfo } from "../../src/errors.ts";
import { VERSION } from "../../src/version.ts";
import { FAKE_INVALID_API_KEY, startFakeOpenAI } from "../fake_openai.ts";
import { CLI_RUN_NAME, runCli, stdoutJson, tempDataDir } from "./support/cli.ts";

Deno.test("--help lists every command, the predecessor's aliases and every exit code", async () => {
  await using dir = await tempDataDir();
  const run = await runCli(["--help"], { dataDir: dir.path });
  assert.equal(run.code, 0, run.stderr);
  for (const command of COMMANDS) {
    assert.match(run.stdout, new RegExp(`^  ${command.path.join(" ")}\\b`, "m"));
  }
  for (const alias of ["stats", "list", "cleanup", "validate-config"]) {
    assert.match(run.stdout, new RegExp(`^  ${alias} .*= `, "m"));
  }
  for (const kind of ERROR_KINDS) {
    const code = errorKindInfo(kind).exitCode;
    assert.match(run.stdout, new RegExp(`^  ${code} .*\\b${kind}\\b`, "m"), `exit code of ${kind}`);
  }
  for (const { code } of EXIT_CODES) assert.match(run.stdout, new RegExp(`^  ${code} `, "m"));
});

Deno.test("every command answers --help with its usage, each of its options and the exit codes", async () => {
  await using dir = await tempDataDir();
  for (const command of COMMANDS) {
    const run = await runCli([...command.path, "--help"], { dataDir: dir.path });
    assert.equal(run.code, 0, `${command.path.join(" ")} --help: ${run.stderr}`);
    assert.ok(
      run.stdout.startsWith(`Usage: ${CLI_RUN_NAME} ${command.path.join(" ")}`),
      run.stdout.split("\n")[0],
    );
    for (const option of command.options) {
      assert.ok(
        run.stdout.includes(`--${option.name}`),
        `${command.path.join(" ")} --help documents --${option.name}`,
      );
    }
    assert.ok(run.stdout.includes("--json"));
    for (const { code } of EXIT_CODES) assert.match(run.stdout, new RegExp(`^  ${code} `, "m"));
  }
});

Deno.test("--version prints deno.json's version, also as JSON", async () => {
  await using dir = await tempDataDir();
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, denoJson.version);
  const plain = await runCli(["--version"], { dataDir: dir.path });
  assert.equal(plain.code, 0);
  assert.equal(plain.stdout, `openai-image-cli ${denoJson.version}\n`);
  const json = await runCli(["--version", "--json"], { dataDir: dir.path });
  assert.deepEqual(stdoutJson(json), { version: denoJson.version });
});

Deno.test("command-line mistakes exit 2 with a message on stderr and nothing on stdout", async () => {
  await using dir = await tempDataDir();
  const cases: [string[], RegExp][] = [
    [["generate", "a cat", "--bogus"], /Unknown option '--bogus'/],
    [["images", "stats", "--dry-run"], /Unknown option '--dry-run' \(for images stats\)/],
    [["frobnicate"], /Unknown command "frobnicate"/],
    [["images", "frob"], /Unknown command "images frob"/],
    [["images", "delete"], /Wrong number of arguments for images delete/],
    [["images", "list", "--limit", "0"], /Invalid --limit "0"/],
    [["list", "--sort", "colour"], /Invalid --sort "colour": expected one of name, size, age/],
    [["generate", "x", "--model"], /argument missing/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(args, { dataDir: dir.path });
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stdout, "", args.join(" "));
  }
  const bare = await runCli([], { dataDir: dir.path });
  assert.equal(bare.code, 2);
  assert.ok(bare.stderr.includes(`\nUsage: ${CLI_RUN_NAME} <command>`), bare.stderr);
  const group = await runCli(["keys"], { dataDir: dir.path });
  assert.equal(group.code, 2);
  assert.match(group.stderr, /keys <create\|list\|revoke\|usage>/);
});

Deno.test("usage errors and hints name the command as it was typed: deno task cli, deno run, an alias", async () => {
  await using dir = await tempDataDir();
  const task = await runCli(["images", "cleanup", "--bogus"], { dataDir: dir.path, via: "task" });
  assert.equal(task.code, 2, task.stderr);
  assert.match(task.stderr, /Unknown option '--bogus'/);
  assert.ok(
    task.stderr.includes("Run `deno task cli images cleanup --help` for usage"),
    task.stderr,
  );
  const alias = await runCli(["list", "extra"], { dataDir: dir.path, via: "task" });
  assert.equal(alias.code, 2, alias.stderr);
  assert.ok(alias.stderr.includes("(usage: deno task cli list [options])"), alias.stderr);
  assert.ok(alias.stderr.includes("Run `deno task cli list --help` for usage"), alias.stderr);
  assert.doesNotMatch(alias.stderr, /images list/, "the alias is named as typed");
  const unknown = await runCli(["frobnicate"], { dataDir: dir.path, via: "task" });
  assert.ok(unknown.stderr.includes("run `deno task cli --help` for the list"), unknown.stderr);
  const help = await runCli(["images", "--help"], { dataDir: dir.path, via: "task" });
  assert.ok(help.stdout.includes("Usage: deno task cli images <"), help.stdout);
  assert.ok(help.stdout.includes("  deno task cli images cleanup [options]"), help.stdout);

  const direct = await runCli(["images", "cleanup", "--bogus"], { dataDir: dir.path });
  assert.ok(
    direct.stderr.includes(`Run \`${CLI_RUN_NAME} images cleanup --help\` for usage`),
    direct.stderr,
  );
});

Deno.test("a usage error with --json also prints a JSON error document", async () => {
  await using dir = await tempDataDir();
  const run = await runCli(["images", "list", "--json", "--cursorr", "x"], { dataDir: dir.path });
  assert.equal(run.code, 2);
  const body = stdoutJson<{ error: { kind: string; exitCode: number; message: string } }>(run);
  assert.equal(body.error.kind, "usage");
  assert.equal(body.error.exitCode, 2);
  assert.match(body.error.message, /--cursorr/);
});

Deno.test("invalid settings exit 3 and every bad setting is named", async () => {
  await using dir = await tempDataDir();
  const run = await runCli(["config", "check", "--port", "http", "--log-level", "loud"], {
    dataDir: dir.path,
    env: { OPENAI_TIMEOUT_MS: "soon" },
  });
  assert.equal(run.code, 3, run.stderr);
  for (const name of ["PORT", "LOG_LEVEL", "OPENAI_TIMEOUT_MS"]) {
    assert.match(run.stderr, new RegExp(name));
  }
  const json = await runCli(["config", "check", "--json", "--port", "http"], { dataDir: dir.path });
  assert.equal(json.code, 3);
  const body = stdoutJson<{ ok: boolean; problems: { name: string }[] }>(json);
  assert.equal(body.ok, false);
  assert.deepEqual(body.problems.map((p) => p.name), ["PORT"]);
  // Any other command refuses to start on the same settings, with the same code.
  const other = await runCli(["images", "stats", "--port", "http"], { dataDir: dir.path });
  assert.equal(other.code, 3);
  assert.match(other.stderr, /PORT/);
});

Deno.test("config check prints the effective configuration with the key masked", async () => {
  await using dir = await tempDataDir();
  const key = "sk-test-config-check-0123456789";
  const run = await runCli(["config", "check", "--output-dir", `${dir.path}/pictures`], {
    dataDir: dir.path,
    env: { OPENAI_API_KEY: key, MCP_MODE: "true" },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(!run.stdout.includes(key) && !run.stderr.includes(key), "the key never appears");
  assert.match(run.stdout, /^OPENAI_API_KEY=<redacted>$/m);
  assert.match(run.stdout, new RegExp(`^OUTPUT_DIR=${dir.path}/pictures$`, "m"));
  assert.match(run.stdout, new RegExp(`^KV_PATH=${dir.path}/kv.sqlite3$`, "m"));
  assert.match(run.stderr, /MCP_MODE is obsolete/);
  const json = await runCli(["config", "check", "--json"], {
    dataDir: dir.path,
    env: { OPENAI_API_KEY: key },
  });
  const body = stdoutJson<{ ok: boolean; config: Record<string, unknown>; warnings: string[] }>(
    json,
  );
  assert.equal(body.ok, true);
  assert.equal(body.config.OPENAI_API_KEY, "<redacted>");
  assert.equal(body.config.DATA_DIR, dir.path);
  assert.ok(Array.isArray(body.warnings));
  assert.equal("live" in body, false);
});

Deno.test("config check --live asks the upstream which models the key can use", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: "sk-test-live-0123456789", OPENAI_BASE_URL: fake.baseUrl };
  const run = await runCli(["config", "check", "--live", "--json"], { dataDir: dir.path, env });
  assert.equal(run.code, 0, run.stderr);
  const body = stdoutJson<{ live: { models: string[]; imageModels: string[]; baseUrl: string } }>(
    run,
  );
  assert.ok(body.live.models.includes("gpt-image-2"));
  assert.ok(body.live.imageModels.includes("gpt-image-2"));
  assert.equal(body.live.baseUrl, fake.baseUrl);
  assert.ok(fake.requests.some((r) => r.path === "/v1/models"), "the upstream was asked");
});

Deno.test("config check --live exits with the key's exit code when it is missing or refused", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const missing = await runCli(["config", "check", "--live"], {
    dataDir: dir.path,
    env: { OPENAI_API_KEY: "", OPENAI_BASE_URL: fake.baseUrl },
  });
  assert.equal(missing.code, errorKindInfo("missing_api_key").exitCode, missing.stderr);
  assert.match(missing.stderr, /OPENAI_API_KEY/);
  assert.equal(fake.requests.length, 0);
  const refused = await runCli(["config", "check", "--live", "--json"], {
    dataDir: dir.path,
    env: { OPENAI_API_KEY: FAKE_INVALID_API_KEY, OPENAI_BASE_URL: fake.baseUrl },
  });
  assert.equal(refused.code, errorKindInfo("upstream_auth").exitCode, refused.stderr);
  assert.equal(stdoutJson<{ error: { kind: string } }>(refused).error.kind, "upstream_auth");
});

Deno.test("validate-config checks the key upstream unless --skip-api-check", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: "sk-test-validate-0123456789", OPENAI_BASE_URL: fake.baseUrl };
  const skipped = await runCli(["validate-config", "--skip-api-check"], { dataDir: dir.path, env });
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.equal(fake.requests.length, 0);
  const checked = await runCli(["validate-config"], { dataDir: dir.path, env });
  assert.equal(checked.code, 0, checked.stderr);
  assert.equal(fake.requests.filter((r) => r.path === "/v1/models").length, 1);
  assert.match(checked.stderr, /image models: .*gpt-image-2/);
});

Deno.test("models lists the registry with each model's lifecycle status", async () => {
  await using dir = await tempDataDir();
  const json = await runCli(["models", "--json"], { dataDir: dir.path });
  assert.equal(json.code, 0, json.stderr);
  const { models } = stdoutJson<{ models: { id: string; status: string; lifecycle: string }[] }>(
    json,
  );
  const byId = new Map(models.map((m) => [m.id, m]));
  assert.equal(byId.get("gpt-image-2")?.status, "current");
  assert.equal(byId.get("dall-e-3")?.status, "retired");
  assert.match(byId.get("dall-e-3")!.lifecycle, /retired/);
  const table = await runCli(["models"], { dataDir: dir.path });
  assert.equal(table.code, 0);
  assert.match(table.stdout, /^MODEL\s+STATUS/);
  assert.match(table.stdout, /^dall-e-3\s+retired/m);
});
