/**
 * The shape of the code, checked from the module graph Deno itself builds (`deno info --json`)
 * for every entrypoint: no import cycle inside `src/`, no entrypoint imports another, the HTTP
 * door (`src/http/`) and the MCP server (`src/mcp/`) meet only in the composition root
 * (`src/app/`), and only the entrypoints' doors import that root.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const ENTRYPOINTS = ["src/main_mcp.ts", "src/main_http.ts", "src/main_cli.ts"];

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** The `src/` part of `entry`'s module graph: module path → the `src/` paths it imports. */
async function sourceGraph(entry: string): Promise<Map<string, string[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] };
  const local = (specifier: string | undefined) =>
    specifier?.startsWith("file://") ? relative(ROOT, fromFileUrl(specifier)) : undefined;
  const graph = new Map<string, string[]>();
  for (const module of info.modules) {
    const path = local(module.specifier);
    if (path === undefined || !path.startsWith("src/")) continue;
    const imports = (module.dependencies ?? [])
      .flatMap((d) => [local(d.code?.specifier), local(d.type?.specifier)])
      .filter((p): p is string => p !== undefined && p.startsWith("src/"));
    graph.set(path, [...new Set(imports)]);
  }
  return graph;
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
