/**
 * The distribution stays consistent with the code: the compile task, the release workflow, the
 * MCP Bundle manifest, the Dockerfile and the permission sets the e2e suites run under all name
 * the same targets, binaries, sets, settings and version.
 */
import assert from "node:assert/strict";
import {
  BINARIES,
  type BundleManifest,
  bundleManifest,
  CODEC_ASSETS,
  mcpBinaryName,
  platformOf,
  smokeTest,
  SWAGGER_ASSETS,
  TARGETS,
  TEST_ONLY_PACKAGES,
  WORKER_MODULES,
} from "../../scripts/compile.ts";
import { EXIT_CODES } from "../../src/cli/exit_codes.ts";
import { SETTING_NAMES } from "../../src/config.ts";
import { SERVER_NAME, VERSION } from "../../src/version.ts";
import { CLI_PERMISSION_SET, cliCommand } from "./support/cli.ts";
import { ensureNpmPackage } from "./support/node_tools.ts";

const ROOT = new URL("../../", import.meta.url);
const MCPB_VERSION = "2.1.2";

function read(path: string): Promise<string> {
  return Deno.readTextFile(new URL(path, ROOT));
}

async function denoJson(): Promise<{ version: string; tasks: Record<string, string> }> {
  return JSON.parse(await read("deno.json"));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, ROOT));
    return true;
  } catch {
    return false;
  }
}

/** `-P=<set>` of a command line, or undefined. */
function permissionSet(words: readonly string[]): string | undefined {
  return words.find((w) => w.startsWith("-P="))?.slice(3);
}

interface DryRunCommand {
  words: string[];
  set: string;
  target: string;
  output: string;
  include: string[];
  exclude: string[];
  entry: string;
}

async function dryRun(env: Record<string, string> = {}): Promise<{
  comments: string[];
  commands: DryRunCommand[];
}> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", "--dry-run"],
    cwd: new URL(".", ROOT),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  const commands = lines.filter((l) => !l.startsWith("#")).map((line) => {
    const words = line.split(" ");
    const after = (flag: string) => words.flatMap((w, i) => w === flag ? [words[i + 1]] : []);
    return {
      words,
      set: permissionSet(words)!,
      target: after("--target")[0],
      output: after("--output")[0],
      include: after("--include"),
      exclude: after("--exclude"),
      entry: words[words.length - 1],
    };
  });
  return { comments: lines.filter((l) => l.startsWith("#")), commands };
}

/** The `- target:` entries of the release workflow's build matrix. */
async function workflowTargets(): Promise<string[]> {
  const workflow = await read(".github/workflows/release.yml");
  return [...workflow.matchAll(/^\s+- target: (\S+)\s*$/gm)].map((m) => m[1]);
}

Deno.test("the compile task builds each binary for each target of the release matrix", async () => {
  const { commands } = await dryRun();
  assert.deepEqual(await workflowTargets(), [...TARGETS]);
  assert.equal(commands.length, TARGETS.length * BINARIES.length);
  for (const target of TARGETS) {
    for (const binary of BINARIES) {
      const exe = target.includes("windows") ? ".exe" : "";
      const output = `dist/${binary.name}-${target}${exe}`;
      const command = commands.find((c) => c.output === output);
      assert.ok(command, `a command builds ${output}`);
      assert.deepEqual(command.words.slice(0, 2), ["deno", "compile"]);
      assert.equal(command.target, target);
      assert.equal(command.entry, binary.entry);
      assert.equal(command.set, binary.permissionSet);
    }
  }
  assert.deepEqual(
    BINARIES.map((b) => b.name),
    ["openai-image-mcp", "openai-image-http", "openai-image-cli"],
  );
});

Deno.test("each binary bakes in the permission set its entrypoint is run and tested under", async () => {
  const { tasks } = await denoJson();
  const { commands } = await dryRun();
  const setOf = (kind: string) => commands.find((c) => c.output.includes(`-${kind}-`))!.set;
  // The tasks people run.
  assert.equal(permissionSet(tasks.mcp.split(" ")), setOf("mcp"));
  assert.equal(permissionSet(tasks.serve.split(" ")), setOf("http"));
  assert.equal(permissionSet(tasks.cli.split(" ")), setOf("cli"));
  // The e2e suites: the stdio server's client and the CLI runner.
  const mcpClient = await read("tests/e2e/support/mcp_client.ts");
  assert.ok(mcpClient.includes(`"-P=${setOf("mcp")}"`), "mcp e2e tests run under the mcp set");
  assert.equal(CLI_PERMISSION_SET, setOf("cli"));
  assert.equal(permissionSet(cliCommand([])), setOf("cli"));
  // Every set named exists in deno.json.
  const config = JSON.parse(await read("deno.json")) as { permissions: Record<string, unknown> };
  for (const binary of BINARIES) assert.ok(binary.permissionSet in config.permissions);
});

Deno.test("the files loaded at run time are included, and only test tools are left out", async () => {
  const { commands } = await dryRun();
  const wasm: string[] = [];
  for (const pkg of ["png", "jpeg", "webp", "resize"]) {
    const walk = async (dir: string): Promise<void> => {
      for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory || entry.isSymlink && !entry.name.includes(".")) {
          if (entry.name !== "node_modules") await walk(path);
        } else if (entry.name.endsWith(".wasm")) wasm.push(path);
      }
    };
    await walk(`node_modules/@jsquash/${pkg}`);
  }
  assert.deepEqual([...CODEC_ASSETS].sort(), wasm.sort(), "every codec .wasm is included");
  const openapi = await read("src/http/openapi.ts");
  const block = /const SWAGGER_FILES[^{]*\{([^}]*)\}/.exec(openapi)?.[1] ?? "";
  const served = [...block.matchAll(/"([^"]+)":/g)].map((m) => m[1]);
  assert.ok(served.length >= 2);
  assert.deepEqual(
    SWAGGER_ASSETS.map((p) => p.split("/").pop()).sort(),
    served.sort(),
    "the Swagger UI files the HTTP service serves",
  );
  for (const command of commands) {
    assert.ok(command.include.includes("deno.json"));
    for (const path of command.include) assert.ok(await exists(path), `${path} exists`);
    for (const path of command.exclude) assert.ok(await exists(path), `${path} exists`);
    for (const asset of CODEC_ASSETS) assert.ok(command.include.includes(asset));
    const isHttp = command.output.includes("-http-");
    for (const asset of SWAGGER_ASSETS) assert.equal(command.include.includes(asset), isHttp);
  }
  // What is left out must not be needed: no source module imports a test-only package.
  for await (const file of walkTs("src")) {
    const text = await read(file);
    for (const pkg of TEST_ONLY_PACKAGES) {
      assert.ok(!new RegExp(`from "(npm:)?${pkg}`).test(text), `${file} imports ${pkg}`);
    }
  }
});

Deno.test("every module src/ imports through a constant is included in the binaries by name", async () => {
  // `const DOOR = "./stdio_door.ts"; await import(DOOR)`: deno compile sees no such import.
  const late: string[] = [];
  for await (const file of walkTs("src")) {
    const text = await read(file);
    for (const [, name, specifier] of text.matchAll(/const (\w+) = "(\.\.?\/[^"]+\.ts)";/g)) {
      if (!new RegExp(`import\\(${name}\\)`).test(text)) continue;
      late.push(new URL(specifier, new URL(file, ROOT)).pathname.slice(ROOT.pathname.length));
    }
  }
  assert.ok(late.includes("src/stdio_door.ts"), `found: ${late.join(", ")}`);
  const mcp = BINARIES.find((b) => b.kind === "mcp")!;
  assert.deepEqual([...mcp.lateModules].sort(), late.sort());
  const { commands } = await dryRun();
  for (const command of commands.filter((c) => c.output.includes("-mcp-"))) {
    for (const path of late) assert.ok(command.include.includes(path), `${path} is included`);
  }
});

Deno.test("every worker thread module in src/ is included in every binary by name", async () => {
  const workers: string[] = [];
  for await (const file of walkTs("src")) {
    const text = await read(file);
    for (
      const [, specifier] of text.matchAll(/new URL\("(\.\.?\/[^"]+\.ts)", import\.meta\.url\)/g)
    ) {
      if (!/\bnew Worker\(/.test(text)) continue;
      workers.push(new URL(specifier, new URL(file, ROOT)).pathname.slice(ROOT.pathname.length));
    }
  }
  assert.ok(workers.includes("src/images/sha256_worker.ts"), `found: ${workers.join(", ")}`);
  assert.deepEqual([...WORKER_MODULES].sort(), workers.sort());
  const { commands } = await dryRun();
  assert.equal(commands.length > 0, true);
  for (const command of commands) {
    for (const path of workers) {
      assert.ok(command.include.includes(path), `${path} in ${command.output}`);
    }
  }
});

async function* walkTs(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walkTs(path);
    else if (/\.tsx?$/.test(entry.name)) yield path;
  }
}

Deno.test("DENORT_BIN is passed through to deno compile and shown by --dry-run", async () => {
  const { comments } = await dryRun({ DENORT_BIN: "/opt/denort/denort-2.9.6" });
  assert.deepEqual(comments.length, 1);
  assert.match(comments[0], /^# DENORT_BIN=\/opt\/denort\/denort-2\.9\.6 /);
  const script = await read("scripts/compile.ts");
  // The real run inherits the environment: no clearEnv, no env override.
  assert.ok(!/clearEnv/.test(script));
  const readme = await read("README.md");
  assert.match(readme, /DENORT_BIN/);
});

Deno.test("the MCP Bundle manifest validates with the mcpb CLI, also per target", async () => {
  const dir = await ensureNpmPackage("@anthropic-ai/mcpb", MCPB_VERSION);
  const validate = async (path: string) => {
    const output = await new Deno.Command("node", {
      args: [`${dir}/dist/cli/cli.js`, "validate", path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) +
      new TextDecoder().decode(output.stderr);
    return { ok: output.success, text };
  };
  const checked = await validate(new URL("mcpb/manifest.json", ROOT).pathname);
  assert.ok(checked.ok, checked.text);
  const constants = await Deno.readTextFile(`${dir}/dist/shared/constants.js`);
  const defaultVersion = /DEFAULT_MANIFEST_VERSION = "([^"]+)"/.exec(constants)?.[1];
  const template = JSON.parse(await read("mcpb/manifest.json")) as BundleManifest;
  assert.equal(template.manifest_version, defaultVersion, "the package's manifest version");

  const temp = await Deno.makeTempDir({ prefix: "mcpb-" });
  try {
    for (const target of TARGETS) {
      const path = `${temp}/${target}.json`;
      await Deno.writeTextFile(
        path,
        JSON.stringify(bundleManifest(template, { target, version: VERSION })),
      );
      const result = await validate(path);
      assert.ok(result.ok, `${target}: ${result.text}`);
    }
    // The validator does fail on a broken manifest (so the checks above mean something).
    await Deno.writeTextFile(`${temp}/bad.json`, JSON.stringify({ ...template, server: {} }));
    assert.equal((await validate(`${temp}/bad.json`)).ok, false);
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
});

Deno.test("the bundle's entry points are the compiled MCP binaries, per OS and per target", async () => {
  const template = JSON.parse(await read("mcpb/manifest.json")) as BundleManifest;
  const { commands } = await dryRun();
  const mcpOutputs = commands.filter((c) => c.set === "mcp").map((c) => c.output.slice(5));
  assert.equal(template.server.type, "binary");
  const config = template.server.mcp_config;
  const byPlatform: Record<string, string> = {
    linux: config.command,
    ...Object.fromEntries(
      Object.entries(config.platform_overrides ?? {}).map(([os, o]) => [os, o.command!]),
    ),
  };
  assert.deepEqual(Object.keys(byPlatform).sort(), ["darwin", "linux", "win32"]);
  for (const [os, command] of Object.entries(byPlatform)) {
    const match = /^\$\{__dirname\}\/server\/(.+)$/.exec(command);
    assert.ok(match, `${os}: ${command}`);
    assert.ok(mcpOutputs.includes(match[1]), `${match[1]} is a compile output`);
    const target = TARGETS.find((t) => mcpBinaryName(t) === match[1])!;
    assert.equal(platformOf(target), os);
  }
  assert.equal(template.server.entry_point, config.command.replace("${__dirname}/", ""));
  assert.deepEqual([...(template.compatibility?.platforms ?? [])].sort(), [
    "darwin",
    "linux",
    "win32",
  ]);
  for (const target of TARGETS) {
    const manifest = bundleManifest(template, { target, version: "9.8.7" });
    const binary = mcpBinaryName(target);
    assert.ok(mcpOutputs.includes(binary));
    assert.equal(manifest.server.entry_point, `server/${binary}`);
    assert.equal(manifest.server.mcp_config.command, `\${__dirname}/server/${binary}`);
    assert.equal(manifest.server.mcp_config.platform_overrides, undefined);
    assert.deepEqual(manifest.compatibility?.platforms, [platformOf(target)]);
    assert.equal(manifest.version, "9.8.7");
    assert.deepEqual(manifest.server.mcp_config.env, config.env);
  }
});

Deno.test("the bundle's user settings map to configuration names, the key as a secret", async () => {
  const manifest = JSON.parse(await read("mcpb/manifest.json")) as BundleManifest & {
    user_config: Record<string, { type: string; sensitive?: boolean; required?: boolean }>;
    name: string;
  };
  assert.equal(manifest.version, VERSION, "the manifest carries deno.json's version");
  assert.equal(manifest.name, SERVER_NAME);
  const env = manifest.server.mcp_config.env ?? {};
  const mapped: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    assert.ok(SETTING_NAMES.includes(name), `${name} is a setting of config.md`);
    const match = /^\$\{user_config\.([a-z_]+)\}$/.exec(value);
    assert.ok(match, `${name} comes from a user setting`);
    assert.ok(match[1] in manifest.user_config, `${match[1]} is declared`);
    mapped[name] = match[1];
  }
  assert.deepEqual(Object.keys(mapped).sort(), ["OPENAI_API_KEY", "OUTPUT_DIR"]);
  const key = manifest.user_config[mapped.OPENAI_API_KEY];
  assert.deepEqual([key.type, key.sensitive, key.required], ["string", true, true]);
  const output = manifest.user_config[mapped.OUTPUT_DIR];
  assert.equal(output.type, "directory");
  assert.deepEqual(
    Object.keys(manifest.user_config).sort(),
    Object.values(mapped).sort(),
    "every user setting reaches the server",
  );
});

Deno.test("the Dockerfile runs the serve task as a non-root user with /data and a health check", async () => {
  const dockerfile = await read("Dockerfile");
  const { tasks } = await denoJson();
  const ci = await read(".ci/run");
  const denoVersion = /^DENO_VERSION="([^"]+)"/m.exec(ci)?.[1];
  assert.match(
    dockerfile,
    new RegExp(`^FROM denoland/deno:${denoVersion?.replaceAll(".", "\\.")}$`, "m"),
  );
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.ok(cmd, "an exec-form CMD");
  assert.equal((JSON.parse(cmd) as string[]).join(" "), tasks.serve);
  const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
  assert.ok(user && user !== "root" && user !== "0");
  assert.ok(dockerfile.indexOf(`USER ${user}`) < dockerfile.indexOf("CMD ["));
  assert.match(dockerfile, /^RUN deno install --frozen$/m);
  assert.match(dockerfile, /HOST=0\.0\.0\.0/);
  assert.match(dockerfile, /DATA_DIR=\/data/);
  assert.match(dockerfile, /^VOLUME \["\/data"\]$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*\n?.*\/health/m);
  assert.match(dockerfile, /MCP_AUTH_TOKEN/, "documents that auth must be given");
  const compose = await read("compose.yaml");
  assert.match(compose, /MCP_AUTH_TOKEN: \$\{MCP_AUTH_TOKEN:\?/);
  assert.match(compose, /:\/data$/m);
  const ignore = await read(".dockerignore");
  assert.deepEqual(ignore.split("\n").filter((l) => l && !l.startsWith("#")), [
    "*",
    "!deno.json",
    "!deno.lock",
    "!src/",
  ]);
});

Deno.test("the release workflow smoke-tests, checksums, packs bundles and tests the image", async () => {
  const workflow = await read(".github/workflows/release.yml");
  const ci = await read(".ci/run");
  const denoVersion = /^DENO_VERSION="([^"]+)"/m.exec(ci)?.[1];
  assert.match(workflow, /^\s+tags: \["v\*"\]$/m);
  assert.match(workflow, new RegExp(`DENO_VERSION: "${denoVersion}"`));
  assert.match(workflow, new RegExp(`MCPB_VERSION: "${MCPB_VERSION}"`));
  for (
    const step of [
      "deno install --frozen",
      "deno task compile --target ${{ matrix.target }}",
      "deno task compile --smoke --target ${{ matrix.target }}",
      "deno task compile --bundle --target ${{ matrix.target }}",
      '@anthropic-ai/mcpb@${MCPB_VERSION}" pack',
      "deno task compile --checksums",
      "SHA256SUMS",
      "docker build",
      "http://127.0.0.1:3000/health",
      "gh release",
    ]
  ) {
    assert.ok(workflow.includes(step), `the workflow runs ${step}`);
  }
});

Deno.test("the smoke test checks each entrypoint's --version and an MCP initialize round trip", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "smoke-" });
  try {
    const config = new URL("deno.json", ROOT).pathname;
    const mcp = [Deno.execPath(), "run", "-P=mcp", "--config", config, "src/main_mcp.ts"]
      .map((w) => w === "src/main_mcp.ts" ? new URL(w, ROOT).pathname : w);
    await smokeTest(mcp, "mcp", { version: VERSION, serverName: SERVER_NAME, dataDir });
    await smokeTest(cliCommand([]), "cli", { version: VERSION, dataDir });
    const http = [Deno.execPath(), "run", "-P=http", "--config", config];
    await smokeTest([...http, new URL("src/main_http.ts", ROOT).pathname], "http", {
      version: VERSION,
      dataDir,
    });
    await assert.rejects(
      smokeTest(cliCommand([]), "cli", { version: "0.0.0-not-this", dataDir }),
      /--version should exit 0 and print 0\.0\.0-not-this/,
    );
    await assert.rejects(
      smokeTest(mcp, "mcp", { version: VERSION, serverName: "someone-else", dataDir }),
      /Expected server name someone-else/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("README documents the CLI's exit codes and MCP_SETUP the one-click bundle", async () => {
  const readme = await read("README.md");
  const section = readme.slice(readme.indexOf("## CLI"));
  assert.ok(readme.includes("## CLI"), "README has a CLI section");
  for (const { code } of EXIT_CODES) {
    assert.match(
      section,
      new RegExp(`^\\| ${code} +\\|`, "m"),
      `README documents exit code ${code}`,
    );
  }
  const setup = await read("MCP_SETUP.md");
  assert.match(setup, /^### One-click bundle/m);
  assert.match(setup, /openai-image-mcp-<target>\.mcpb/);
});
