/**
 * SHA-256 on the worker thread: the same digests as node:crypto on the calling thread, for
 * many hashes interleaved; a hash running when the thread ends fails clearly, and the next ones
 * work (on the calling thread, then on a new worker); the worker never keeps a process alive.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  sha256ThreadReady,
  startSha256,
  stopSha256Thread,
} from "../../src/images/sha256_thread.ts";

function pieces(seed: number, count: number): Uint8Array<ArrayBuffer>[] {
  return Array.from({ length: count }, (_, i) => {
    const piece = new Uint8Array(1000 + ((seed * 7919 + i * 104729) % 70_000));
    for (let j = 0; j < piece.length; j += 997) piece[j] = (seed + i + j) % 256;
    return piece;
  });
}

function expected(parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

Deno.test("interleaved hashes on the worker thread match node:crypto's digests", async () => {
  assert.equal(await sha256ThreadReady(), true);
  try {
    const inputs = Array.from({ length: 12 }, (_, seed) => pieces(seed, 1 + (seed % 5)));
    const want = inputs.map(expected);
    const hashes = inputs.map(() => startSha256());
    for (let round = 0; round < 5; round++) {
      for (const [i, parts] of inputs.entries()) {
        // Handed over: a copy, since the test keeps its input.
        if (round < parts.length) hashes[i].update(parts[round].slice());
      }
    }
    assert.deepEqual(await Promise.all(hashes.map((h) => h.digest())), want);
    const dropped = startSha256();
    dropped.update(new Uint8Array(10));
    dropped.drop();
    const empty = startSha256();
    assert.equal(await empty.digest(), createHash("sha256").digest("hex"));
    await assert.rejects(empty.digest(), /already finished/);
  } finally {
    await stopSha256Thread();
  }
});

Deno.test("a hash running when the thread ends fails with a clear error; later hashes work", async () => {
  assert.equal(await sha256ThreadReady(), true);
  const running = startSha256();
  running.update(new Uint8Array(100));
  const waiting = startSha256();
  waiting.update(new Uint8Array(5));
  const digest = waiting.digest();
  await stopSha256Thread();
  await assert.rejects(digest, /SHA-256 worker thread failed/);
  running.update(new Uint8Array(100));
  await assert.rejects(running.digest(), /SHA-256 worker thread failed/);
  // The next hash runs at once on this thread while a new worker starts, then on that worker.
  const parts = pieces(3, 3);
  const local = startSha256();
  for (const part of parts) local.update(part.slice());
  assert.equal(await local.digest(), expected(parts));
  assert.equal(await sha256ThreadReady(), true);
  const onWorker = startSha256();
  for (const part of parts) onWorker.update(part.slice());
  assert.equal(await onWorker.digest(), expected(parts));
  await stopSha256Thread();
});

Deno.test("a process whose hashes are done exits with the worker thread still started", async () => {
  const module = new URL("../../src/images/sha256_thread.ts", import.meta.url).href;
  const script = `
    import { sha256ThreadReady, startSha256 } from ${JSON.stringify(module)};
    if (!(await sha256ThreadReady())) throw new Error("no worker");
    const hash = startSha256();
    hash.update(new TextEncoder().encode("abc"));
    console.log(await hash.digest());
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../deno.json", import.meta.url).pathname, script],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.equal(
    new TextDecoder().decode(output.stdout).trim(),
    createHash("sha256").update("abc").digest("hex"),
  );
});
