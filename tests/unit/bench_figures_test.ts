/**
 * The bench's pure parts: percentiles, ratios, the goals' verdicts, which tasks count as stdio
 * entries, and where `--write` puts the report. No timing is asserted here.
 */
import assert from "node:assert/strict";
import { anyMissed, evaluateGoals, type GoalFigures } from "../../scripts/bench/goals.ts";
import { median, percentile, ratio } from "../../scripts/bench/stats.ts";
import { MARKERS, replaceBetweenMarkers } from "../../scripts/bench/report.ts";
import { stdioEntryTasks } from "../../scripts/bench/stdio_start.ts";
import { evenShares, type LoadRun, mergeLoadRuns } from "../../scripts/bench/load.ts";
import { wholeNumber } from "../../scripts/bench/flags.ts";

Deno.test("percentile uses the nearest rank and ignores the order of samples", () => {
  const samples = [50, 10, 40, 20, 30, 100, 90, 80, 70, 60];
  assert.equal(percentile(samples, 0.5), 50);
  assert.equal(percentile(samples, 0.95), 100);
  assert.equal(percentile(samples, 0.9), 90);
  assert.equal(percentile(samples, 0), 10);
  assert.equal(percentile(samples, 1), 100);
  assert.equal(median([3, 1, 2]), 2);
  assert.ok(Number.isNaN(percentile([], 0.5)));
  assert.throws(() => percentile([1], 1.5), RangeError);
});

Deno.test("ratio is null when a side is missing or the base is not positive", () => {
  assert.equal(ratio(30, 60), 0.5);
  assert.equal(ratio(null, 60), null);
  assert.equal(ratio(30, null), null);
  assert.equal(ratio(30, 0), null);
  assert.equal(ratio(Number.NaN, 10), null);
});

const MET: GoalFigures = {
  serviceRps: 70,
  fakeRps: 80,
  predecessorRps: 60,
  stdioMs: 120,
  predecessorStdioMs: 220,
  lostImages: 0,
  peakRssBytes: 250 * 1024 * 1024,
};

Deno.test("every goal of the issue is met by figures inside its target", () => {
  const verdicts = evaluateGoals(MET);
  assert.deepEqual(verdicts.map((v) => v.status), ["met", "met", "met", "met", "met"]);
  assert.equal(verdicts[0].value, "0.88×");
  assert.equal(anyMissed(verdicts), false);
});

Deno.test("each goal is missed by a figure just outside its target", () => {
  const cases: [Partial<GoalFigures>, number][] = [
    [{ serviceRps: 63.9 }, 0], // 0.7988 of the fake alone
    [{ predecessorRps: 70.5 }, 1],
    [{ stdioMs: 133 }, 2], // 0.6045 of 220 ms
    [{ lostImages: 1 }, 3],
    [{ peakRssBytes: 300 * 1024 * 1024 + 1 }, 4],
  ];
  for (const [change, index] of cases) {
    const verdicts = evaluateGoals({ ...MET, ...change });
    assert.equal(verdicts[index].status, "missed", JSON.stringify(change));
    assert.equal(verdicts.filter((v) => v.status === "missed").length, 1, JSON.stringify(change));
    assert.equal(anyMissed(verdicts), true);
  }
});

Deno.test("a goal without its figures is not measured, and does not count as missed", () => {
  const verdicts = evaluateGoals({ ...MET, predecessorRps: null, predecessorStdioMs: null });
  assert.deepEqual(verdicts.map((v) => v.status), [
    "met",
    "not measured",
    "not measured",
    "met",
    "met",
  ]);
  assert.equal(verdicts[1].value, "—");
  assert.equal(anyMissed(verdicts), false);
});

Deno.test("stdio entries are the mcp tasks that are a single deno run", () => {
  const entries = stdioEntryTasks({
    mcp: "deno run -P=mcp src/main_mcp.ts",
    "mcp:bundled": { command: "deno run -P=mcp dist/mcp.js", description: "bundled" },
    "mcp:build": "deno bundle src/main_mcp.ts -o dist/mcp.js",
    "mcp:chained": "deno task mcp:build && deno run -P=mcp dist/mcp.js",
    serve: "deno run -P=http src/main_http.ts",
    mcpish: "deno run x.ts",
  });
  assert.deepEqual(entries, [
    { name: "mcp", args: ["run", "-P=mcp", "src/main_mcp.ts"] },
    { name: "mcp:bundled", args: ["run", "-P=mcp", "dist/mcp.js"] },
  ]);
});

Deno.test("--write replaces only the text between the bench markers", () => {
  const document =
    `# Performance\n\nprose\n\n${MARKERS.begin}\nold figures\n${MARKERS.end}\n\nafter\n`;
  const written = replaceBetweenMarkers(document, "new figures\n");
  assert.equal(
    written,
    `# Performance\n\nprose\n\n${MARKERS.begin}\n\nnew figures\n\n${MARKERS.end}\n\nafter\n`,
  );
  assert.equal(replaceBetweenMarkers(written, "new figures\n"), written);
  assert.throws(() => replaceBetweenMarkers("# no markers\n", "x"), /lacks the lines/);
});

function turn(
  seconds: number,
  latenciesMs: number[],
  failures: Record<string, number> = {},
): LoadRun {
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  const ok = latenciesMs.length - failed;
  return {
    requests: latenciesMs.length,
    concurrency: 2,
    seconds,
    rps: ok / seconds,
    p50Ms: percentile(latenciesMs, 0.5),
    p95Ms: percentile(latenciesMs, 0.95),
    ok,
    failures,
    latenciesMs,
  };
}

Deno.test("a target's interleaved turns add up to one run: time and answers summed, percentiles over all", () => {
  const merged = mergeLoadRuns([
    turn(1, [10, 20, 30, 40]),
    turn(3, [50, 60, 70, 80, 90, 100], { "HTTP 500": 1 }),
  ]);
  assert.equal(merged.requests, 10);
  assert.equal(merged.ok, 9);
  assert.equal(merged.seconds, 4);
  // 9 answers in 4 s, not the mean of the turns' rates (4/s and 5/3/s).
  assert.equal(merged.rps, 2.25);
  assert.equal(merged.p50Ms, 50);
  assert.equal(merged.p95Ms, 100);
  assert.deepEqual(merged.failures, { "HTTP 500": 1 });
  assert.throws(() => mergeLoadRuns([]), RangeError);
});

Deno.test("requests are split into rounds as evenly as whole numbers allow", () => {
  assert.deepEqual(evenShares(300, 5), [60, 60, 60, 60, 60]);
  assert.deepEqual(evenShares(7, 3), [3, 2, 2]);
  assert.deepEqual(evenShares(2, 4), [1, 1, 0, 0]);
  assert.throws(() => evenShares(10, 0), RangeError);
  assert.throws(() => evenShares(1.5, 2), RangeError);
});

Deno.test("bench flags are whole numbers of at least their minimum, or a RangeError naming them", () => {
  assert.equal(wholeNumber("requests", "300", 1), 300);
  assert.equal(wholeNumber("warmup", "0"), 0);
  assert.throws(
    () => wholeNumber("rounds", "0", 1),
    /--rounds must be a whole number of at least 1, got 0/,
  );
  assert.throws(() => wholeNumber("requests", "2.5"), RangeError);
  assert.throws(() => wholeNumber("requests", ""), RangeError);
  assert.throws(() => wholeNumber("requests", undefined), RangeError);
});
