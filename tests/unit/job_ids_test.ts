import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { Catalog } from "../../src/images/catalog.ts";
import { isJobId, newJobId } from "../../src/images/ids.ts";

Deno.test("job ids are minted as UUIDv7 and every id minted is a valid job id", () => {
  const ids = Array.from({ length: 5000 }, (_, i) => newJobId(1_700_000_000_000 + (i >> 4)));
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.ok(isJobId(id), id);
  assert.ok(isJobId(newJobId()));
});

Deno.test("a job id is refused unless it is a canonical lower-case UUIDv7", () => {
  const minted = newJobId(1_700_000_000_000);
  const refused: unknown[] = [
    "job_1", // accepted by the catalog's old rule (1 to 128 of A-Z a-z 0-9 _ -)
    "0195f3c2-8d1e-4abc-9def-0123456789ab", // a UUIDv4: accepted by the gallery's old rule
    "0195f3c2-8d1e-7abc-1def-0123456789ab", // wrong variant
    minted.toUpperCase(),
    minted.replaceAll("-", ""),
    ` ${minted}`,
    `${minted}\n`,
    `${minted}/..`,
    "../etc/passwd",
    "",
    "a".repeat(128),
    null,
    undefined,
    42,
  ];
  for (const id of refused) assert.equal(isJobId(id), false, JSON.stringify(id));
});

Deno.test("the catalog refuses to create a job under an id no generator mints, naming jobId", async () => {
  await using kv = await Deno.openKv(":memory:");
  const catalog = new Catalog(kv);
  await assert.rejects(
    catalog.createJob("job_1", { prompt: "p", model: "gpt-image-2", door: "cli" }),
    (e) => e instanceof ValidationError && /jobId/.test(e.message),
  );
  assert.equal(await catalog.getJob("job_1"), null);
  const jobId = newJobId();
  await catalog.createJob(jobId, { prompt: "p", model: "gpt-image-2", door: "cli" });
  assert.equal((await catalog.getJob(jobId))?.state, "pending");
});
