/** The core's semaphore: how many tasks run at once, in what order the rest start. */
import assert from "node:assert/strict";
import { Semaphore } from "../../src/core/mod.ts";

Deno.test("a semaphore runs at most its size at once and starts the rest in arrival order", async () => {
  const semaphore = new Semaphore(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, () => Promise.withResolvers<void>());
  const tasks = gates.map((gate, i) =>
    semaphore.run(async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await gate.promise;
      running--;
      return i;
    })
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(started, [0, 1]);
  for (const gate of gates) gate.resolve();
  assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
});

Deno.test("a task that fails frees its place", async () => {
  const semaphore = new Semaphore(1);
  await assert.rejects(semaphore.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await semaphore.run(() => Promise.resolve("next")), "next");
});

Deno.test("a semaphore needs a size of at least 1", () => {
  assert.throws(() => new Semaphore(0), RangeError);
  assert.throws(() => new Semaphore(1.5), RangeError);
});
