/**
 * `clients list` and `clients revoke` through the real entrypoint: the connected OAuth apps
 * (grants) of every person in the data directory's KV file, which the CLI — the local admin —
 * sees and revokes whoever allowed them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApiKey, revokeApiKey } from "../../src/auth/mod.ts";
import { errorKindInfo } from "../../src/errors.ts";
import { getGrant, type ListedGrant, type OAuthGrant } from "../../src/oauth/mod.ts";
import { seedGrant } from "../support/oauth_grants.ts";
import { runCli, stdoutJson, tempDataDir } from "./support/cli.ts";

const clock = { now: () => Date.UTC(2026, 10, 1) };

/**
 * Creates the API keys of alice and bob and one grant each, `grant_alice1` (Claude) and
 * `grant_bob1` (with `bob` over the defaults); returns the keys' ids.
 */
async function seedAliceAndBob(
  kv: Deno.Kv,
  bob: Partial<OAuthGrant> = {},
): Promise<{ alice: string; bob: string }> {
  const idOf = async (name: string) =>
    (await createApiKey(kv, { name, role: "user", now: clock.now })).record.id;
  const ids = { alice: await idOf("alice"), bob: await idOf("bob") };
  await seedGrant(kv, { id: "grant_alice1", principalId: ids.alice, principalName: "alice" });
  await seedGrant(kv, { id: "grant_bob1", principalId: ids.bob, principalName: "bob", ...bob });
  return ids;
}

/** Runs `body` with the data directory's KV file open, closed again before the CLI runs. */
async function withKv<T>(dataDir: string, body: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(join(dataDir, "kv.sqlite3"));
  try {
    return await body(kv);
  } finally {
    kv.close();
  }
}

Deno.test("clients list shows every person's connected apps, newest first, never revoked ones unless asked", async () => {
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path };
  const empty = await runCli(["clients", "list"], opts);
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stdout, "");
  assert.match(empty.stderr, /No connected apps/);
  assert.deepEqual(stdoutJson(await runCli(["clients", "list", "--json"], opts)), { grants: [] });

  const ids = await withKv(dir.path, async (kv) => {
    const ids = await seedAliceAndBob(kv, {
      clientId: "https://chatgpt.example/oauth/client.json",
      clientName: "ChatGPT",
      redirectHost: "chatgpt.com",
      scopes: ["images:read"],
      createdAt: Date.UTC(2026, 10, 2, 9, 0),
      lastUsedAt: Date.UTC(2026, 10, 3, 12, 30),
    });
    await seedGrant(kv, {
      id: "grant_gone",
      principalId: ids.alice,
      createdAt: Date.UTC(2026, 9, 1),
      revokedAt: Date.UTC(2026, 9, 2),
      revokedBy: ids.alice,
    });
    return ids;
  });

  const listed = stdoutJson<{ grants: OAuthGrant[] }>(
    await runCli(["clients", "list", "--json"], opts),
  ).grants;
  assert.deepEqual(listed.map((g) => g.id), ["grant_bob1", "grant_alice1"]);
  assert.deepEqual(listed[0].scopes, ["images:read"]);
  assert.equal(listed[0].redirectHost, "chatgpt.com");

  const all = stdoutJson<{ grants: OAuthGrant[] }>(
    await runCli(["clients", "list", "--all", "--json"], opts),
  ).grants;
  assert.deepEqual(all.map((g) => g.id), ["grant_bob1", "grant_alice1", "grant_gone"]);

  const alices = stdoutJson<{ grants: OAuthGrant[] }>(
    await runCli(["clients", "list", "--principal", ids.alice, "--json"], opts),
  ).grants;
  assert.deepEqual(alices.map((g) => g.id), ["grant_alice1"]);

  const table = await runCli(["clients", "list"], opts);
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.trimEnd().split("\n");
  assert.match(
    rows[0],
    /^ID\s+CLIENT\s+REDIRECT HOST\s+PERSON\s+SCOPES\s+CREATED\s+LAST USED\s+STATUS$/,
  );
  assert.match(
    rows[1],
    new RegExp(
      `^grant_bob1\\s+ChatGPT\\s+chatgpt\\.com\\s+bob \\(${ids.bob}\\)\\s+images:read\\s+` +
        "2026-11-02 09:00\\s+2026-11-03 12:30\\s+active$",
    ),
  );
  assert.match(
    rows[2],
    new RegExp(
      `^grant_alice1\\s+Claude\\s+claude\\.ai\\s+alice \\(${ids.alice}\\)\\s+` +
        "images:read images:write\\s+.*—\\s+active$",
    ),
  );
  assert.equal(rows.length, 3);
});

Deno.test("clients list shows an app whose consenting API key was revoked as inactive", async () => {
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path };
  const ids = await withKv(dir.path, async (kv) => {
    const ids = await seedAliceAndBob(kv, { createdAt: Date.UTC(2026, 10, 2) });
    await revokeApiKey(kv, ids.alice, clock);
    return ids;
  });
  const listed = stdoutJson<{ grants: ListedGrant[] }>(
    await runCli(["clients", "list", "--json"], opts),
  ).grants;
  assert.deepEqual(
    listed.map((g) => [g.id, g.revokedAt, g.keyRevoked]),
    [["grant_bob1", null, false], ["grant_alice1", null, true]],
    "alice's grant is not revoked itself, but her key is",
  );
  const rows = (await runCli(["clients", "list"], opts)).stdout.trimEnd().split("\n");
  assert.match(rows[1], /^grant_bob1\s.*\sactive$/);
  assert.match(
    rows[2],
    new RegExp(`^grant_alice1\\s.*alice \\(${ids.alice}\\).*\\sinactive \\(key revoked\\)$`),
  );
});

Deno.test("clients revoke ends a grant for good, says when it already was, and refuses unknown ids", async () => {
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path };
  await withKv(dir.path, (kv) => seedAliceAndBob(kv));

  const revoked = await runCli(["clients", "revoke", "grant_alice1"], opts);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, "Revoked grant_alice1 (Claude, allowed by alice)\n");
  const stored = await withKv(dir.path, (kv) => getGrant(kv, "grant_alice1"));
  assert.equal(stored?.revokedBy, "local", "the CLI revokes as the local admin");
  assert.equal(typeof stored?.revokedAt, "number");
  const active = stdoutJson<{ grants: OAuthGrant[] }>(
    await runCli(["clients", "list", "--json"], opts),
  ).grants;
  assert.deepEqual(active.map((g) => g.id), ["grant_bob1"]);

  const again = await runCli(["clients", "revoke", "grant_alice1", "--json"], opts);
  assert.equal(again.code, 0, again.stderr);
  const second = stdoutJson<{ revoked: OAuthGrant }>(again).revoked;
  assert.equal(second.revokedAt, stored?.revokedAt, "revoking twice changes nothing");
  const text = await runCli(["clients", "revoke", "grant_alice1"], opts);
  assert.match(text.stdout, /^Already revoked grant_alice1 \(Claude, allowed by alice\) on 20/);

  const notFound = errorKindInfo("not_found").exitCode;
  for (const id of ["grant_nothere", "../../etc/passwd", "g".repeat(5000)]) {
    const run = await runCli(["clients", "revoke", id, "--json"], opts);
    assert.equal(run.code, notFound, run.stderr);
    const error = stdoutJson<{ error: { kind: string; message: string } }>(run).error;
    assert.equal(error.kind, "not_found");
    assert.match(error.message, /^Cannot revoke connected app: no grant with id "/);
    assert.ok(error.message.length < 200, "a long id is not echoed whole");
  }
  const missing = await runCli(["clients", "revoke"], opts);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /expected <grant-id>/);
  const bob = await withKv(dir.path, (kv) => getGrant(kv, "grant_bob1"));
  assert.equal(bob?.revokedAt, null, "other grants are untouched");
});
