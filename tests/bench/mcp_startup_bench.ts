/**
 * Spawn → `initialize` answered, for the stdio MCP server under its permission set.
 * Run: `deno task bench` (or `deno bench -P=test tests/bench/mcp_startup_bench.ts`).
 */
import { initializeLine, spawnStdioServer } from "../e2e/support/initialize.ts";

const dataDir = Deno.makeTempDirSync({ prefix: "mcp-bench-" });
const initialize = new TextEncoder().encode(initializeLine("bench"));

async function spawnAndInitialize(b: Deno.BenchContext): Promise<void> {
  b.start();
  const child = spawnStdioServer(dataDir);
  const writer = child.stdin.getWriter();
  await writer.write(initialize);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes('"id":1')) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited before answering initialize");
    out += value;
  }
  b.end();
  await writer.close();
  while (!(await reader.read()).done);
  await child.status;
}

Deno.bench({
  name: "stdio MCP server: spawn → initialize answered",
  group: "startup",
  n: 20,
  warmup: 3,
  fn: spawnAndInitialize,
});

Deno.bench({
  name: "bare deno run (floor)",
  group: "startup",
  baseline: true,
  n: 20,
  warmup: 3,
  async fn() {
    await new Deno.Command(Deno.execPath(), { args: ["eval", "0"], stdout: "null" }).output();
  },
});
