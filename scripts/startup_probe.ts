/**
 * Median time from spawn to the stdio server's `initialize` answer over N runs
 * (`deno run -P=test scripts/startup_probe.ts [N]`); the bench reports mean and p75 only.
 *
 * @module
 */
import { initializeLine, spawnStdioServer } from "../tests/e2e/support/initialize.ts";

const runs = Number(Deno.args[0] ?? "25");
const dataDir = await Deno.makeTempDir({ prefix: "startup-probe-" });
const line = initializeLine("p");
const times: number[] = [];
for (let i = 0; i < runs + 3; i++) {
  const started = performance.now();
  const child = spawnStdioServer(dataDir);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(line));
  const reader = child.stdout.getReader();
  await reader.read();
  const elapsed = performance.now() - started;
  if (i >= 3) times.push(elapsed);
  await writer.close();
  while (!(await reader.read()).done);
  await child.status;
}
times.sort((a, b) => a - b);
const at = (q: number) =>
  times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(0);
console.log(
  `spawn → initialize over ${runs} runs: median ${at(0.5)} ms, p90 ${at(0.9)} ms, min ${at(0)} ms`,
);
await Deno.remove(dataDir, { recursive: true });
