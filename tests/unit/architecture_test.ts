/**
 * The shape of the code, checked from the module graph Deno itself builds (`deno info --json`)
 * for every entrypoint and for all of `src/`: no import cycle inside `src/`, no entrypoint imports
 * another, the HTTP door (`src/http/`) and the MCP server (`src/mcp/`) meet only in the composition
 * root (`src/app/`), which only the entrypoints' doors import; every import points down the layers
 * of docs/architecture.md; an import from outside a folder goes through the folder's `mod.ts`
 * (or one of the few light public modules listed here, each with its reason); and the stdio door
 * loads no core before its first tool call.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL as toFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const ENTRYPOINTS = ["src/main_mcp.ts", "src/main_http.ts", "src/main_cli.ts"];

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier?: string };
    type?: { specifier?: string };
    isDynamic?: boolean;
  }[];
}

/** `deno info --json` of `entry`: every module of its graph with its dependencies. */
async function moduleInfo(entry: string): Promise<InfoModule[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", "deno.json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] }).modules;
}

/** A `file:` specifier as a path relative to the repository; any other specifier as it is. */
function named(specifier: string): string {
  return specifier.startsWith("file://") ? relative(ROOT, fromFileUrl(specifier)) : specifier;
}

/** The `src/` part of `entry`'s module graph: module path → the `src/` paths it imports. */
async function sourceGraph(entry: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const module of await moduleInfo(entry)) {
    const path = named(module.specifier);
    if (!path.startsWith("src/")) continue;
    const imports = (module.dependencies ?? [])
      .flatMap((d) => [d.code?.specifier, d.type?.specifier])
      .filter((s): s is string => s !== undefined)
      .map(named)
      .filter((p) => p.startsWith("src/"));
    graph.set(path, [...new Set(imports)]);
  }
  return graph;
}

/**
 * What loading `roots` of `entry`'s graph loads at run time: the static imports that are not
 * type-only, followed from each root (npm and node modules by specifier).
 */
async function loadedBy(entry: string, roots: string[]): Promise<Set<string>> {
  const imports = new Map<string, string[]>();
  for (const module of await moduleInfo(entry)) {
    imports.set(
      named(module.specifier),
      (module.dependencies ?? [])
        .filter((d) => !d.isDynamic && d.code?.specifier !== undefined)
        .map((d) => named(d.code!.specifier!)),
    );
  }
  const loaded = new Set<string>();
  const visit = (path: string) => {
    if (loaded.has(path)) return;
    loaded.add(path);
    for (const next of imports.get(path) ?? []) visit(next);
  };
  roots.forEach(visit);
  return loaded;
}

/** Every TypeScript module under `src/`, as paths relative to the repository. */
async function sourceModules(dir = "src"): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await sourceModules(path));
    else if (/\.tsx?$/.test(entry.name)) found.push(path);
  }
  return found.sort();
}

/**
 * The module graph of all of `src/` — modules no entrypoint reaches yet included — read through
 * a throwaway module that imports each of them.
 */
async function wholeSourceGraph(): Promise<Map<string, string[]>> {
  const dir = await Deno.makeTempDir();
  try {
    const all = join(dir, "all.ts");
    const lines = (await sourceModules()).map((p) =>
      `import ${JSON.stringify(toFileUrl(join(ROOT, p)).href)};`
    );
    await Deno.writeTextFile(all, lines.join("\n") + "\n");
    return await sourceGraph(all);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every import cycle of `graph`, each written `a -> b -> a`. */
function cyclesOf(graph: Map<string, string[]>): string[] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const found = new Set<string>();
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        found.add([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return [...found];
}

/**
 * Modules that may import the composition root besides its own: the entrypoints and the HTTP
 * entrypoint's serving module, which main_http.ts loads after its top-level cron.
 */
const APP_IMPORTERS = [...ENTRYPOINTS, "src/http_door.ts"];

/** Every import of `graph` that crosses a door boundary, each written `from -> to`. */
function boundaryViolations(graph: Map<string, string[]>): string[] {
  const within = (path: string, folder: string) => path.startsWith(`src/${folder}/`);
  const found: string[] = [];
  for (const [from, imports] of graph) {
    for (const to of imports) {
      const crossesDoors = (within(from, "http") && within(to, "mcp")) ||
        (within(from, "mcp") && within(to, "http"));
      const reachesRoot = within(to, "app") && !within(from, "app") &&
        !APP_IMPORTERS.includes(from);
      if (crossesDoors || reachesRoot) found.push(`${from} -> ${to}`);
    }
  }
  return found;
}

/**
 * The layers of `src/`, top to bottom, as docs/architecture.md draws them: a module may import its
 * own layer or any layer below it, never one above. A member ending in `/` is a folder.
 */
const LAYERS: readonly { name: string; members: readonly string[] }[] = [
  { name: "entrypoints", members: ENTRYPOINTS },
  {
    name: "doors",
    members: ["src/stdio_door.ts", "src/http_door.ts", "src/entrypoint.ts", "src/cli/"],
  },
  { name: "composition root", members: ["src/app/"] },
  { name: "transports", members: ["src/http/", "src/mcp/"] },
  {
    name: "services",
    members: ["src/services.ts", "src/image_service.ts", "src/lazy_image_service.ts", "src/core/"],
  },
  {
    name: "engines",
    members: ["src/generation/", "src/ratelimit/", "src/auth/", "src/oauth/"],
  },
  { name: "vocabulary", members: ["src/core_types.ts"] },
  { name: "storage", members: ["src/images/"] },
  {
    name: "leaves",
    members: [
      "src/kv/",
      "src/net/",
      "src/metrics.ts",
      "src/tracing.ts",
      "src/log.ts",
      "src/cli_flags.ts",
      "src/config.ts",
      "src/markdown.ts",
      "src/errors.ts",
      "src/clock.ts",
      "src/version.ts",
      "src/encoding.ts",
      "src/bytes.ts",
      "src/format_bytes.ts",
    ],
  },
];

/** The index in {@link LAYERS} of the layer holding `path`, or -1 when no layer names it. */
function layerOf(path: string, layers = LAYERS): number {
  return layers.findIndex((layer) =>
    layer.members.some((m) => m.endsWith("/") ? path.startsWith(m) : path === m)
  );
}

/** Every import of `graph` that points up the layers, each written `from (layer) -> to (layer)`. */
function layerViolations(graph: Map<string, string[]>, layers = LAYERS): string[] {
  const found: string[] = [];
  for (const [from, imports] of graph) {
    const own = layerOf(from, layers);
    for (const to of imports) {
      const target = layerOf(to, layers);
      if (own >= 0 && target >= 0 && target < own) {
        found.push(`${from} (${layers[own].name}) -> ${to} (${layers[target].name})`);
      }
    }
  }
  return found;
}

/**
 * Public modules besides a folder's `mod.ts`, each light on purpose: importing the folder's
 * `mod.ts` would load what these consumers must not (yet) load.
 */
const LIGHT_PUBLIC_MODULES: Readonly<Record<string, string>> = {
  "src/mcp/fast_stdio.ts":
    "main_mcp.ts listens on stdin before anything else loads (mod.ts brings the MCP SDK)",
  "src/cli/exit_codes.ts":
    "main_http.ts exits with EXIT_CONFIG before its cron and serving module load (mod.ts is the whole CLI)",
  "src/core/policy.ts":
    "the stdio door names its caller before the core loads (mod.ts brings admission: limits, tracing)",
  "src/generation/vocabulary.ts":
    "the stdio door and the MCP server describe requests before the engine loads (mod.ts brings the OpenAI SDK)",
};

/** The folders that are subsystems: those holding a `mod.ts`, deepest first. */
function subsystemFolders(paths: Iterable<string>): string[] {
  return [...paths]
    .filter((p) => p.endsWith("/mod.ts"))
    .map((p) => p.slice(0, -"mod.ts".length))
    .sort((a, b) => b.length - a.length);
}

/**
 * Every import of `graph` that reaches into a subsystem from outside it past its public modules,
 * each written `from -> to`. A module's subsystem is the deepest folder above it with a `mod.ts`;
 * inside that folder (its subfolders included) imports are direct.
 */
function surfaceViolations(
  graph: Map<string, string[]>,
  light: Readonly<Record<string, string>> = LIGHT_PUBLIC_MODULES,
): string[] {
  const folders = subsystemFolders([...graph.keys(), ...[...graph.values()].flat()]);
  const found: string[] = [];
  for (const [from, imports] of graph) {
    for (const to of imports) {
      const folder = folders.find((f) => to.startsWith(f));
      if (folder === undefined || from.startsWith(folder)) continue;
      if (to === `${folder}mod.ts` || to in light) continue;
      found.push(`${from} -> ${to}`);
    }
  }
  return found;
}

for (const entry of ENTRYPOINTS) {
  Deno.test(`${entry} reaches no import cycle inside src/ and imports no other entrypoint`, async () => {
    const graph = await sourceGraph(entry);
    assert.ok(graph.size > 10, `the graph of ${entry} was read (${graph.size} modules)`);
    assert.deepEqual(cyclesOf(graph), []);
    const others = ENTRYPOINTS.filter((e) => e !== entry && graph.has(e));
    assert.deepEqual(others, [], "entrypoints never import each other");
  });

  Deno.test(`${entry}: src/http and src/mcp meet only in src/app, which only the doors import`, async () => {
    assert.deepEqual(boundaryViolations(await sourceGraph(entry)), []);
  });
}

Deno.test("the stdio MCP door reaches nothing of the HTTP door or the composition root", async () => {
  const graph = await sourceGraph("src/main_mcp.ts");
  const reached = [...graph.keys()].filter((p) => /^src\/(http|app)\//.test(p));
  assert.deepEqual(reached, []);
});

Deno.test("before its first tool call the stdio door loads no core, no engine and no storage", async () => {
  // main_mcp.ts loads the door, and the door loads the MCP server, before any tool call; the first
  // call loads services.ts, and with it the rest. A heavy mod.ts imported too early shows here, and
  // so does the image studio's page (loaded with the first read of its resource).
  const loaded = await loadedBy("src/main_mcp.ts", [
    "src/main_mcp.ts",
    "src/stdio_door.ts",
    "src/mcp/mod.ts",
  ]);
  assert.ok(loaded.has("src/mcp/server.ts") && loaded.has("src/generation/vocabulary.ts"));
  const early = [...loaded].filter((p) =>
    /^src\/(services|image_service)\.ts$|^src\/(images|ratelimit|auth|kv|http|app)\/|^src\/(core|generation)\/mod\.ts$|^src\/mcp\/apps\/view|^npm:\/?openai@/
      .test(p)
  );
  assert.deepEqual(early, []);
});

Deno.test("every module of src/ belongs to one layer of docs/architecture.md", async () => {
  const unplaced = (await sourceModules()).filter((p) => layerOf(p) < 0);
  assert.deepEqual(unplaced, [], "add new modules to LAYERS and to docs/architecture.md");
});

Deno.test("every import in src/ points to its own layer or one below", async () => {
  assert.deepEqual(layerViolations(await wholeSourceGraph()), []);
});

Deno.test("every folder of src/ has a mod.ts, and imports from outside go through it", async () => {
  const graph = await wholeSourceGraph();
  const modules = await sourceModules();
  assert.ok(graph.size >= modules.length, `all of src/ was read (${graph.size} modules)`);
  const folders = new Set(
    modules.filter((p) => p.split("/").length > 2).map((p) => p.split("/")[1]),
  );
  const missing = [...folders].filter((f) => !modules.includes(`src/${f}/mod.ts`));
  assert.deepEqual(missing, [], "folders directly under src/ without a mod.ts");
  assert.deepEqual(surfaceViolations(graph), []);
  const unknown = Object.keys(LIGHT_PUBLIC_MODULES).filter((p) => !modules.includes(p));
  assert.deepEqual(unknown, [], "light public modules that do not exist");
});

Deno.test("docs/architecture.md draws the layers and light public modules the test enforces", async () => {
  const doc = await Deno.readTextFile(join(ROOT, "docs/architecture.md"));
  const rows = doc.split("\n").filter((line) => /^\| \d+ \|/.test(line)).map((line) =>
    line.split("|").map((cell) => cell.trim())
  );
  const drawn = rows.map(([, , name, members]) => ({
    name,
    members: [...members.matchAll(/`([^`]+)`/g)].map((m) => `src/${m[1]}`),
  }));
  assert.deepEqual(drawn, LAYERS.map((l) => ({ name: l.name, members: [...l.members] })));
  const undocumented = Object.keys(LIGHT_PUBLIC_MODULES).filter((p) =>
    !doc.includes(`\n| \`${p}\``)
  );
  assert.deepEqual(undocumented, [], "light public modules missing from docs/architecture.md");
});

Deno.test("the layer check sees an import pointing up", () => {
  const graph = new Map([
    ["src/images/catalog.ts", ["src/kv/mod.ts", "src/generation/mod.ts"]],
    ["src/kv/retry.ts", ["src/clock.ts", "src/services.ts"]],
    ["src/cli/run.ts", ["src/services.ts", "src/unplaced.ts"]],
    ["src/http/app.ts", ["src/mcp/mod.ts", "src/app/mod.ts"]],
  ]);
  assert.deepEqual(layerViolations(graph), [
    "src/images/catalog.ts (storage) -> src/generation/mod.ts (engines)",
    "src/kv/retry.ts (leaves) -> src/services.ts (services)",
    "src/http/app.ts (transports) -> src/app/mod.ts (composition root)",
  ]);
});

Deno.test("the surface check sees an import bypassing a folder's mod.ts", () => {
  const graph = new Map([
    ["src/images/mod.ts", ["src/images/catalog.ts"]],
    ["src/images/catalog.ts", ["src/kv/retry.ts", "src/kv/mod.ts", "src/images/ids.ts"]],
    ["src/mcp/server.ts", ["src/mcp/tasks/task_service.ts", "src/mcp/tasks/mod.ts"]],
    ["src/mcp/tasks/mod.ts", ["src/mcp/tasks/render.ts"]],
    ["src/mcp/tasks/render.ts", ["src/mcp/results.ts"]],
    ["src/main_mcp.ts", ["src/mcp/fast_stdio.ts", "src/mcp/server.ts"]],
    ["src/mcp/mod.ts", []],
    ["src/kv/mod.ts", ["src/kv/retry.ts"]],
  ]);
  assert.deepEqual(surfaceViolations(graph), [
    "src/images/catalog.ts -> src/kv/retry.ts",
    "src/mcp/server.ts -> src/mcp/tasks/task_service.ts",
    "src/main_mcp.ts -> src/mcp/server.ts",
  ]);
});

Deno.test("the boundary check sees a door importing the other door or the composition root", () => {
  const graph = new Map([
    ["src/http/app.ts", ["src/mcp/server.ts", "src/images/urls.ts"]],
    ["src/mcp/server.ts", ["src/http/signing.ts"]],
    ["src/services.ts", ["src/app/http_app.ts"]],
    ["src/app/http_app.ts", ["src/http/app.ts", "src/mcp/server.ts"]],
    ["src/http_door.ts", ["src/app/http_app.ts"]],
  ]);
  assert.deepEqual(boundaryViolations(graph), [
    "src/http/app.ts -> src/mcp/server.ts",
    "src/mcp/server.ts -> src/http/signing.ts",
    "src/services.ts -> src/app/http_app.ts",
  ]);
});

Deno.test("the cycle finder sees a cycle", () => {
  const graph = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(cyclesOf(graph), ["a -> b -> c -> a"]);
});
