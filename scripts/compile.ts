/**
 * Builds the standalone binaries — the stdio MCP server, the HTTP service and the CLI — for every
 * release target with `deno compile`, each with its permission set from deno.json baked in
 * (`-P=<set>`) and the files it loads at run time included. Also the release workflow's helpers:
 * smoke tests of the binaries this machine can run, MCP Bundle directories and checksums.
 *
 * ```sh
 * deno task compile                         # every binary for every target, into dist/
 * deno task compile --target x86_64-unknown-linux-gnu --binary mcp
 * deno task compile --dry-run               # print the exact commands, build nothing
 * deno task compile --smoke                 # run the binaries built for this machine
 * deno task compile --bundle --target T     # dist/mcpb/T/: manifest.json + server binary
 * deno task compile --checksums             # dist/<file>.sha256 for every file in dist/
 * ```
 *
 * `deno compile` downloads its runtime (denort) unless `DENORT_BIN` names one: the variable is
 * passed through to `deno compile` unchanged.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Release targets, as `deno compile --target` names them. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One release target. */
export type Target = (typeof TARGETS)[number];

/** Which door a binary is. */
export type BinaryKind = "mcp" | "http" | "cli";

/** How one binary is built. */
export interface BinarySpec {
  /** Which door. */
  readonly kind: BinaryKind;
  /** File name stem: `dist/<name>-<target>`. */
  readonly name: string;
  /** Entrypoint module. */
  readonly entry: string;
  /** Permission set of deno.json baked into the binary. */
  readonly permissionSet: string;
  /** npm packages (by name) the binary serves files from. */
  readonly assetPackages: readonly string[];
  /**
   * Modules imported through a constant rather than a literal (so `deno run` loads them only when
   * imported): `deno compile` embeds them only when named.
   */
  readonly lateModules: readonly string[];
}

/** WASM codec files loaded at run time by the `@jsquash/*` packages (the portable codec). */
export const CODEC_ASSETS: readonly string[] = Object.freeze([
  "node_modules/@jsquash/png/codec/pkg/squoosh_png_bg.wasm",
  "node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm",
  "node_modules/@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm",
  "node_modules/@jsquash/webp/codec/dec/webp_dec.wasm",
  "node_modules/@jsquash/webp/codec/enc/webp_enc.wasm",
  "node_modules/@jsquash/webp/codec/enc/webp_enc_simd.wasm",
  "node_modules/@jsquash/resize/lib/resize/pkg/squoosh_resize_bg.wasm",
  "node_modules/@jsquash/resize/lib/hqx/pkg/squooshhqx_bg.wasm",
  "node_modules/@jsquash/resize/lib/magic-kernel/pkg/jsquash_magic_kernel_bg.wasm",
]);

/**
 * Worker thread modules (`new Worker(new URL(...))`): every binary saves images, and `deno compile`
 * embeds a worker's module only when named.
 */
export const WORKER_MODULES: readonly string[] = Object.freeze(["src/images/sha256_worker.ts"]);

/** Swagger UI files the HTTP service serves at `/docs`. */
export const SWAGGER_ASSETS: readonly string[] = Object.freeze([
  "node_modules/swagger-ui-dist/swagger-ui.css",
  "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
  "node_modules/swagger-ui-dist/favicon-32x32.png",
]);

/** npm packages only the tests use: left out of every binary. */
export const TEST_ONLY_PACKAGES: readonly string[] = Object.freeze([
  "playwright-core",
  "axe-core",
  "fast-check",
]);

/**
 * Folders left out because `deno compile` 2.9 overflows its stack on them (bintrees ships a 2 MB
 * extensionless test fixture); `[package, sub-path]`.
 */
export const BROKEN_PACKAGE_PATHS: readonly (readonly [string, string])[] = Object.freeze([
  ["bintrees", "test"],
]);

/** The three binaries. */
export const BINARIES: readonly BinarySpec[] = Object.freeze([
  {
    kind: "mcp",
    name: "openai-image-mcp",
    entry: "src/main_mcp.ts",
    permissionSet: "mcp",
    assetPackages: [],
    lateModules: ["src/stdio_door.ts", "src/services.ts", "src/images/mod.ts"],
  },
  {
    kind: "http",
    name: "openai-image-http",
    entry: "src/main_http.ts",
    permissionSet: "http",
    assetPackages: ["swagger-ui-dist"],
    lateModules: [],
  },
  {
    kind: "cli",
    name: "openai-image-cli",
    entry: "src/main_cli.ts",
    permissionSet: "cli",
    assetPackages: [],
    lateModules: [],
  },
]);

const ROOT = new URL("../", import.meta.url);

/** A project-relative path as a local file path. */
function local(path: string): string {
  return fileURLToPath(new URL(path, ROOT));
}

/** True for targets whose executables end in `.exe`. */
export function isWindows(target: string): boolean {
  return target.includes("windows");
}

/** `dist/<name>-<target>` (+ `.exe` on Windows), relative to the project root. */
export function outputPath(binary: BinarySpec, target: string): string {
  return `dist/${binary.name}-${target}${isWindows(target) ? ".exe" : ""}`;
}

/** Where `deno install` puts an npm package of the lockfile (`node_modules/.deno/...`). */
export function npmPackageDir(lock: { npm?: Record<string, unknown> }, name: string): string {
  const key = Object.keys(lock.npm ?? {}).find((k) => k.startsWith(`${name}@`));
  if (key === undefined) {
    throw new Error(`Cannot find ${name} in deno.lock: run \`deno install\` after adding it`);
  }
  const dir = key.split("_")[0].replaceAll("/", "+");
  return `node_modules/.deno/${dir}/node_modules/${name}`;
}

/** The arguments of `deno compile` for `binary` on `target` (run from the project root). */
export function compileArgs(
  binary: BinarySpec,
  options: { target: string; lock: { npm?: Record<string, unknown> } },
): string[] {
  const { target, lock } = options;
  const args = [
    "compile",
    `-P=${binary.permissionSet}`,
    "--config",
    "deno.json",
    "--frozen",
    "--unstable-kv",
    "--unstable-cron",
    "--target",
    target,
    "--output",
    outputPath(binary, target),
  ];
  const include = [
    "deno.json",
    ...binary.lateModules,
    ...WORKER_MODULES,
    ...CODEC_ASSETS,
    ...(binary.assetPackages.includes("swagger-ui-dist") ? SWAGGER_ASSETS : []),
  ];
  for (const path of include) args.push("--include", path);
  const exclude = [
    ...BROKEN_PACKAGE_PATHS.map(([pkg, sub]) => `${npmPackageDir(lock, pkg)}/${sub}`),
    ...TEST_ONLY_PACKAGES.map((pkg) => npmPackageDir(lock, pkg)),
    ...(binary.assetPackages.includes("swagger-ui-dist")
      ? []
      : [npmPackageDir(lock, "swagger-ui-dist")]),
  ];
  for (const path of exclude) args.push("--exclude", path);
  args.push(binary.entry);
  return args;
}

/** One planned `deno compile` run. */
export interface CompileStep {
  /** The binary. */
  binary: BinarySpec;
  /** The target. */
  target: string;
  /** Arguments after `deno`. */
  args: string[];
}

/** The compile steps for the chosen targets and binaries (all by default). */
export function planCompile(
  lock: { npm?: Record<string, unknown> },
  options: { targets?: readonly string[]; kinds?: readonly string[] } = {},
): CompileStep[] {
  const targets = options.targets?.length ? options.targets : TARGETS;
  const binaries = BINARIES.filter((b) => !options.kinds?.length || options.kinds.includes(b.kind));
  return targets.flatMap((target) =>
    binaries.map((binary) => ({ binary, target, args: compileArgs(binary, { target, lock }) }))
  );
}

/** A command line quoted for a POSIX shell. */
export function shellQuote(words: readonly string[]): string {
  return words.map((w) => /^[A-Za-z0-9_./=:@+,-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`)
    .join(" ");
}

// ---------------------------------------------------------------------------------------------
// MCP Bundle

/** The MCPB manifest fields this script reads and writes. */
export interface BundleManifest {
  version: string;
  server: {
    type: string;
    entry_point: string;
    mcp_config: {
      command: string;
      args?: string[];
      env?: Record<string, string>;
      platform_overrides?: Record<string, { command?: string }>;
    };
  };
  compatibility?: { platforms?: string[]; [key: string]: unknown };
  [key: string]: unknown;
}

/** The MCPB platform (Node's `process.platform`) of a target. */
export function platformOf(target: string): "linux" | "darwin" | "win32" {
  if (target.includes("linux")) return "linux";
  if (target.includes("apple")) return "darwin";
  return "win32";
}

/** The file name of the MCP server binary for `target` (as in `dist/`). */
export function mcpBinaryName(target: string): string {
  const mcp = BINARIES.find((b) => b.kind === "mcp")!;
  return outputPath(mcp, target).slice("dist/".length);
}

/**
 * The manifest of the bundle for one target: the template's per-OS entry points narrowed to this
 * target's binary, this platform only, and the version of deno.json.
 */
export function bundleManifest(
  template: BundleManifest,
  options: { target: string; version: string },
): BundleManifest {
  const { target, version } = options;
  const entry = `server/${mcpBinaryName(target)}`;
  const { platform_overrides: _overrides, ...config } = template.server.mcp_config;
  return {
    ...template,
    version,
    server: {
      ...template.server,
      entry_point: entry,
      mcp_config: { ...config, command: `\${__dirname}/${entry}` },
    },
    compatibility: { ...template.compatibility, platforms: [platformOf(target)] },
  };
}

// ---------------------------------------------------------------------------------------------
// Smoke tests

/** Options of {@link smokeTest}. */
export interface SmokeOptions {
  /** The version every binary must report. */
  version: string;
  /** The server name the MCP server must report. */
  serverName?: string;
  /** A writable directory for the binary's data (made and removed by the test). */
  dataDir: string;
  /** Longest wait for each check, in milliseconds (default 30,000). */
  timeoutMs?: number;
}

const decoder = new TextDecoder();

async function outputWithin(
  command: Deno.Command,
  timeoutMs: number,
  what: string,
): Promise<Deno.CommandOutput> {
  const child = command.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  try {
    const output = await child.output();
    if (output.signal === "SIGKILL") throw new Error(`${what} did not finish in ${timeoutMs} ms`);
    return output;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks one binary (given as a command line, so `deno run …` can stand in for it): `--version`
 * reports `version`, and for the MCP server an `initialize` request over stdio is answered with
 * the server's name and version, after which closing stdin ends the process.
 */
export async function smokeTest(
  command: readonly string[],
  kind: BinaryKind,
  options: SmokeOptions,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const env = {
    DATA_DIR: options.dataDir,
    HOME: options.dataDir,
    LOG_LEVEL: "warning",
    NO_COLOR: "1",
  };
  const [program, ...prefix] = command;
  const version = await outputWithin(
    new Deno.Command(program, {
      args: [...prefix, "--version"],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }),
    timeoutMs,
    `${command.join(" ")} --version`,
  );
  const printed = decoder.decode(version.stdout) + decoder.decode(version.stderr);
  if (!version.success || !printed.includes(options.version)) {
    throw new Error(
      `${command.join(" ")} --version should exit 0 and print ${options.version}; it exited ` +
        `${version.code} and printed: ${printed.trim().slice(0, 500)}`,
    );
  }
  if (kind !== "mcp") return;
  const child = new Deno.Command(program, {
    args: prefix,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  try {
    const writer = child.stdin.getWriter();
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "release-smoke-test", version: options.version },
      },
    };
    await writer.write(new TextEncoder().encode(`${JSON.stringify(initialize)}\n`));
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let answer:
      | { id?: unknown; result?: { serverInfo?: { name?: string; version?: string } } }
      | undefined;
    while (answer === undefined) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line === "") continue;
        const message = JSON.parse(line);
        if (message.id === 1) answer = message;
      }
    }
    await writer.close();
    // Read to the end: the process closes stdout when it exits (the kill timer bounds the wait).
    while (!(await reader.read()).done) {
      // Nothing else is expected after the answer.
    }
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    const info = answer?.result?.serverInfo;
    if (!info || info.version !== options.version) {
      throw new Error(
        `${command.join(" ")} should answer initialize with version ${options.version}; ` +
          `it answered ${JSON.stringify(answer)}; stderr: ${stderr.trim().slice(0, 500)}`,
      );
    }
    if (options.serverName !== undefined && info.name !== options.serverName) {
      throw new Error(`Expected server name ${options.serverName}, got ${info.name}`);
    }
    if (status.signal === "SIGKILL") {
      throw new Error(`${command.join(" ")} did not exit within ${timeoutMs} ms of stdin closing`);
    }
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Command line

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(path, ROOT))) as T;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, ROOT));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function sha256File(path: URL): Promise<string> {
  const bytes = await Deno.readFile(path);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      target: { type: "string", multiple: true },
      binary: { type: "string", multiple: true },
      "dry-run": { type: "boolean" },
      smoke: { type: "boolean" },
      bundle: { type: "boolean" },
      checksums: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task compile [--target T]... [--binary mcp|http|cli]... [--dry-run]\n" +
        "       deno task compile --smoke [--target T]\n" +
        "       deno task compile --bundle --target T\n" +
        "       deno task compile --checksums\n" +
        `Targets: ${TARGETS.join(", ")}`,
    );
    return 0;
  }
  const targets = values.target ?? [];
  for (const t of targets) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      console.error(`Unknown target ${t}: expected one of ${TARGETS.join(", ")}`);
      return 2;
    }
  }
  const kinds = values.binary ?? [];
  for (const k of kinds) {
    if (!BINARIES.some((b) => b.kind === k)) {
      console.error(`Unknown binary ${k}: expected mcp, http or cli`);
      return 2;
    }
  }
  const denoJson = await readJson<{ version: string }>("deno.json");

  if (values.checksums) {
    for await (const entry of Deno.readDir(new URL("dist/", ROOT))) {
      if (!entry.isFile || entry.name.endsWith(".sha256")) continue;
      const hex = await sha256File(new URL(`dist/${entry.name}`, ROOT));
      await Deno.writeTextFile(
        new URL(`dist/${entry.name}.sha256`, ROOT),
        `${hex}  ${entry.name}\n`,
      );
      console.log(`${hex}  ${entry.name}`);
    }
    return 0;
  }

  if (values.bundle) {
    if (targets.length !== 1) {
      console.error("--bundle needs exactly one --target");
      return 2;
    }
    const target = targets[0];
    const template = await readJson<BundleManifest>("mcpb/manifest.json");
    const manifest = bundleManifest(template, { target, version: denoJson.version });
    const dir = `dist/mcpb/${target}/`;
    await Deno.mkdir(new URL(`${dir}server/`, ROOT), { recursive: true });
    await Deno.writeTextFile(
      new URL(`${dir}manifest.json`, ROOT),
      `${JSON.stringify(manifest, null, 2)}\n`,
    );
    const binary = mcpBinaryName(target);
    await Deno.copyFile(new URL(`dist/${binary}`, ROOT), new URL(`${dir}server/${binary}`, ROOT));
    if (!isWindows(target)) await Deno.chmod(new URL(`${dir}server/${binary}`, ROOT), 0o755);
    console.log(dir);
    return 0;
  }

  if (values.smoke) {
    const host = Deno.build.target;
    const chosen = targets.length ? targets : [host];
    let failed = 0;
    for (const target of chosen) {
      if (target !== host) {
        console.error(`skip ${target}: this machine is ${host}`);
        continue;
      }
      for (const binary of BINARIES.filter((b) => !kinds.length || kinds.includes(b.kind))) {
        const path = outputPath(binary, target);
        if (!(await exists(path))) {
          console.error(`FAIL ${path}: not built`);
          failed++;
          continue;
        }
        const dataDir = `dist/.smoke-${binary.kind}-${crypto.randomUUID().slice(0, 8)}`;
        await Deno.mkdir(new URL(dataDir, ROOT), { recursive: true });
        try {
          await smokeTest([local(path)], binary.kind, {
            version: denoJson.version,
            dataDir: local(dataDir),
          });
          console.log(`ok   ${path}`);
        } catch (error) {
          console.error(`FAIL ${path}: ${(error as Error).message}`);
          failed++;
        } finally {
          await Deno.remove(new URL(dataDir, ROOT), { recursive: true }).catch(() => {});
        }
      }
    }
    return failed === 0 ? 0 : 1;
  }

  const lock = await readJson<{ npm?: Record<string, unknown> }>("deno.lock");
  const steps = planCompile(lock, { targets, kinds });
  if (values["dry-run"]) {
    // DENORT_BIN is read only to show it; `deno compile` reads it from the inherited environment.
    const denort = Deno.env.get("DENORT_BIN");
    if (denort) console.log(`# DENORT_BIN=${denort} (used by deno compile instead of a download)`);
    for (const step of steps) console.log(shellQuote(["deno", ...step.args]));
    return 0;
  }
  await Deno.mkdir(new URL("dist/", ROOT), { recursive: true });
  for (const step of steps) {
    console.error(`deno ${step.args.join(" ")}`);
    const status = await new Deno.Command(Deno.execPath(), {
      args: step.args,
      cwd: local("."),
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) {
      console.error(`deno compile failed for ${outputPath(step.binary, step.target)}`);
      return status.code || 1;
    }
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
