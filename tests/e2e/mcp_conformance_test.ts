/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against the real HTTP
 * service's `/mcp`, once per protocol era:
 * - 2025-11-25 (`--suite all --spec-version 2025-11-25`: the initialize handshake), in both
 *   session modes;
 * - 2026-07-28 (`--suite all --spec-version 2026-07-28`: stateless requests with per-request
 *   `_meta`), plus the `io.modelcontextprotocol/tasks` extension scenarios, which a spec-version
 *   filter leaves out and which therefore run one by one (`--scenario`, inferred at 2026-07-28).
 * Scenarios that need the suite's reference fixtures (test_* tools, prompts and resources,
 * `greet`/`slow_compute`/… for tasks) are expected failures listed, one reason each, in
 * tests/e2e/conformance_baseline_{2025,2026}.yml; the suite itself fails the run on any other
 * failure and on a listed scenario (or `scenario:check`) that starts passing. The suite needs
 * Node ≥ 22, installed as the npm package `node` on first use.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withHttpService } from "./support/http_server.ts";
import { ensureNpmPackage } from "./support/node_tools.ts";

const CONFORMANCE_VERSION = "0.2.0-alpha.12";
const NODE_VERSION = "22.23.3";
const BASELINE_2025 = new URL("./conformance_baseline_2025.yml", import.meta.url).pathname;
const BASELINE_2026 = new URL("./conformance_baseline_2026.yml", import.meta.url).pathname;
const RUN_TIMEOUT_MS = 180_000;

/** Scenarios that need no fixture: each must pass outright (stateful adds the SSE ones). */
const MUST_PASS = ["server-initialize", "ping", "tools-list", "logging-set-level"];
const MUST_PASS_STATEFUL = [
  ...MUST_PASS,
  "dns-rebinding-protection",
  "server-sse-multiple-streams",
];
const MUST_PASS_STATELESS = [...MUST_PASS, "dns-rebinding-protection"];

/** 2026-07-28 scenarios that need no fixture: each must pass outright. */
const MUST_PASS_2026 = [
  "tools-list",
  "resources-list",
  "prompts-list",
  "dns-rebinding-protection",
  "sep-2164-resource-not-found",
  "caching",
  "http-header-validation",
  "server-sse-multiple-streams",
  "input-required-result-unsupported-methods",
];

/** The tasks extension's scenarios (`conformance list --server`: `[extension]`). */
const TASKS_SCENARIOS = [
  "tasks-lifecycle",
  "tasks-capability-negotiation",
  "tasks-wire-fields",
  "tasks-request-state-removal",
  "tasks-mrtr-input",
  "tasks-request-headers",
  "tasks-dispatch-and-envelope",
  "tasks-status-notifications",
  "tasks-required-task-error",
  "tasks-mrtr-composition",
];

/** Expected only in stateless mode, where there is deliberately no session id. */
const STATELESS_EXPECTED = {
  "server-sse-multiple-streams": "needs an Mcp-Session-Id; stateless mode has none (a WARNING)",
};

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
  details?: Record<string, unknown>;
}

interface SuiteRun {
  code: number;
  output: string;
  /** Checks per scenario, from the suite's `checks.json` files. */
  checks: Map<string, Check[]>;
}

/**
 * Runs the suite with `selection` (e.g. `--suite all --spec-version 2025-11-25`, or `--scenario
 * NAME`) against `url`, with `baselinePath` plus `extraExpected` (scenario → reason) as expected
 * failures.
 */
async function runSuite(
  url: string,
  selection: string[],
  baselinePath: string,
  extraExpected: Record<string, string> = {},
): Promise<SuiteRun> {
  const nodeDir = await ensureNpmPackage("node", NODE_VERSION);
  const suiteDir = await ensureNpmPackage("@modelcontextprotocol/conformance", CONFORMANCE_VERSION);
  const outDir = await Deno.makeTempDir({ prefix: "mcp-conformance-" });
  try {
    const baseline = join(outDir, "baseline.yml");
    const extra = Object.entries(extraExpected).map(([name, why]) => `  - ${name} # ${why}\n`);
    await Deno.writeTextFile(baseline, (await Deno.readTextFile(baselinePath)) + extra.join(""));
    const child = new Deno.Command(join(nodeDir, "bin", "node"), {
      args: [
        join(suiteDir, "dist", "index.js"),
        "server",
        "--url",
        `${url}/mcp`,
        ...selection,
        "--expected-failures",
        baseline,
        "--output-dir",
        outDir,
      ],
      cwd: outDir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    const result = await child.output().finally(() => clearTimeout(timer));
    const decoder = new TextDecoder();
    const checks = new Map<string, Check[]>();
    for await (const entry of Deno.readDir(outDir)) {
      const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry.name)?.[1];
      if (!entry.isDirectory || scenario === undefined) continue;
      const text = await Deno.readTextFile(join(outDir, entry.name, "checks.json"));
      checks.set(scenario, JSON.parse(text));
    }
    return {
      code: result.code,
      output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
      checks,
    };
  } finally {
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
}

function failures(checks: Check[]): Check[] {
  return checks.filter((c) => c.status === "FAILURE");
}

function assertPassed(run: SuiteRun, scenario: string): void {
  const checks = run.checks.get(scenario);
  assert.ok(checks, `${scenario} ran`);
  assert.deepEqual(failures(checks).map((c) => `${c.id}: ${c.errorMessage}`), [], scenario);
  assert.ok(checks.some((c) => c.status === "SUCCESS"), `${scenario} had a successful check`);
}

for (const mode of ["stateful", "stateless"] as const) {
  Deno.test(`[2025-11-25, ${mode}] the MCP conformance suite passes every scenario outside the reference fixtures`, async () => {
    await withHttpService({
      MCP_HTTP_SESSIONS: mode,
      // The suite makes a few hundred requests from one address, and opens a session per
      // scenario without closing it.
      REQUEST_RATE_LIMIT: "100000/1m",
      MCP_SESSIONS_PER_KEY: "1000",
    }, async ({ server }) => {
      const run = await runSuite(
        server.url,
        ["--suite", "all", "--spec-version", "2025-11-25"],
        BASELINE_2025,
        mode === "stateless" ? STATELESS_EXPECTED : {},
      );
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, /Baseline check passed/);
      for (const scenario of mode === "stateful" ? MUST_PASS_STATEFUL : MUST_PASS_STATELESS) {
        assertPassed(run, scenario);
      }
      // server-sse-polling calls the fixture tool test_reconnection, unknown here: SDK v2 answers
      // -32602 on the POST's SSE stream, so the resumed stream carries no tool result (a warning;
      // 1.x answered an isError result, a failure). Nothing fails; with sessions the priming event
      // and its retry field pass.
      const polling = run.checks.get("server-sse-polling") ?? [];
      assert.deepEqual(failures(polling), []);
      if (mode === "stateful") {
        const status = (id: string) => polling.find((c) => c.id === id)?.status;
        assert.equal(status("server-sse-priming-event"), "SUCCESS");
        assert.equal(status("server-sse-retry-field"), "SUCCESS");
        assert.equal(status("server-sse-disconnect-resume"), "WARNING");
        assert.match(JSON.stringify(polling), /Tool test_reconnection not found/);
      }
      if (mode === "stateless") {
        const streams = run.checks.get("server-sse-multiple-streams") ?? [];
        assert.deepEqual(streams.map((c) => `${c.id} ${c.status}`), [
          "server-sse-multiple-streams-session WARNING",
        ]);
      }
    });
  });
}

// The 2026-07-28 era needs the door on SDK v2 (server/discover, per-request _meta, resultType);
// against the 1.x door these fail.
const SUITE_ENV = { REQUEST_RATE_LIMIT: "100000/1m", MCP_SESSIONS_PER_KEY: "1000" };

Deno.test("[2026-07-28] the MCP conformance suite passes every scenario outside the reference fixtures", async () => {
  await withHttpService(SUITE_ENV, async ({ server }) => {
    const run = await runSuite(
      server.url,
      ["--suite", "all", "--spec-version", "2026-07-28"],
      BASELINE_2026,
    );
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Baseline check passed/);
    for (const scenario of MUST_PASS_2026) assertPassed(run, scenario);
    // server-stateless: only its fixture-driven checks may fail (listed per check in the baseline).
    const stateless = run.checks.get("server-stateless") ?? [];
    assert.ok(
      stateless.some((c) =>
        c.id === "sep-2575-server-implements-discover" && c.status === "SUCCESS"
      ),
      JSON.stringify(stateless),
    );
  });
});

Deno.test("[2026-07-28] the tasks extension scenarios fail only for want of the reference fixtures", async () => {
  await withHttpService(SUITE_ENV, async ({ server }) => {
    for (const scenario of TASKS_SCENARIOS) {
      const run = await runSuite(server.url, ["--scenario", scenario], BASELINE_2026);
      assert.equal(run.code, 0, `${scenario}:\n${run.output}`);
      assert.ok(run.checks.get(scenario), `${scenario} ran`);
    }
  });
});
