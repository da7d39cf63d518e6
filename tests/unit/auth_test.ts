import assert from "node:assert/strict";
import { AppError } from "../../src/errors.ts";
import {
  anonymousPrincipal,
  authenticate,
  authRequired,
  constantTimeEqual,
  createApiKey,
  hasRole,
  listApiKeys,
  parseAuthorization,
  revokeApiKey,
  secretsEqual,
  TOKEN_PRINCIPAL,
} from "../../src/auth/mod.ts";
import { manualClock } from "../support/pinned_time.ts";

const T0 = Date.UTC(2026, 10, 15, 12, 0, 0);

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

Deno.test("MCP_AUTH_TOKEN authenticates as a full-access admin", async () => {
  await withKv(async (kv) => {
    const { now } = manualClock(T0);
    const token = "predecessor-shared-token-123";
    assert.deepEqual(await authenticate(kv, token, { authToken: token, now }), TOKEN_PRINCIPAL);
    assert.equal(TOKEN_PRINCIPAL.role, "admin");
    assert.equal(TOKEN_PRINCIPAL.kind, "token");
    assert.equal(await authenticate(kv, token + "x", { authToken: token, now }), null);
    assert.equal(await authenticate(kv, token.slice(0, -1), { authToken: token, now }), null);
    assert.equal(await authenticate(kv, token, { now }), null, "no token configured");
    assert.equal(await authenticate(kv, "", { authToken: "", now }), null);
  });
});

Deno.test("API keys authenticate with their role; admin includes user", async () => {
  await withKv(async (kv) => {
    const { now } = manualClock(T0);
    const admin = await createApiKey(kv, { name: "ops", role: "admin", now });
    const user = await createApiKey(kv, { name: "designer laptop", role: "user", now });
    assert.match(admin.key, /^oig_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(admin.key, user.key);
    assert.equal(admin.record.prefix, admin.key.slice(0, 8));
    assert.match(admin.record.id, /^key_[A-Za-z0-9_-]{8}$/);

    const a = await authenticate(kv, admin.key, { authToken: "other", now });
    const u = await authenticate(kv, user.key, { now });
    assert.deepEqual(a, { id: admin.record.id, name: "ops", role: "admin", kind: "key" });
    assert.deepEqual(u, { id: user.record.id, name: "designer laptop", role: "user", kind: "key" });
    assert.equal(hasRole(a!, "admin"), true);
    assert.equal(hasRole(a!, "user"), true);
    assert.equal(hasRole(u!, "user"), true);
    assert.equal(hasRole(u!, "admin"), false);
    const altered = admin.key.slice(0, -1) + (admin.key.endsWith("A") ? "B" : "A");
    assert.equal(await authenticate(kv, altered, { now }), null);
    assert.equal(await authenticate(kv, "oig_unknown", { now }), null);
  });
});

Deno.test("a revoked key is refused at once, also through another handle on the same KV", async () => {
  const dir = await Deno.makeTempDir({ prefix: "auth_test_" });
  const kvA = await Deno.openKv(`${dir}/kv.sqlite3`);
  const kvB = await Deno.openKv(`${dir}/kv.sqlite3`);
  try {
    const { now } = manualClock(T0);
    const { key, record } = await createApiKey(kvA, { name: "ci", role: "user", now });
    assert.notEqual(await authenticate(kvB, key, { now }), null);
    const revoked = await revokeApiKey(kvA, record.id, { now });
    assert.equal(revoked.revokedAt, T0);
    assert.equal(await authenticate(kvB, key, { now }), null);
    assert.equal(await authenticate(kvA, key, { now }), null);
    assert.deepEqual(await revokeApiKey(kvB, record.id, { now }), revoked, "idempotent");
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keys are stored hashed: no plaintext key anywhere in KV", async () => {
  await withKv(async (kv) => {
    const { now } = manualClock(T0);
    const keys = [];
    for (const role of ["admin", "user"] as const) {
      keys.push((await createApiKey(kv, { name: `k-${role}`, role, now })).key);
    }
    await authenticate(kv, keys[0], { now });
    await revokeApiKey(kv, (await listApiKeys(kv))[1].id, { now });
    let entries = 0;
    for await (const entry of kv.list({ prefix: [] })) {
      entries++;
      const text = JSON.stringify(entry.key) + JSON.stringify(entry.value);
      for (const key of keys) {
        assert.ok(!text.includes(key), "full key stored");
        assert.ok(!text.includes(key.slice(8)), "secret part stored");
      }
    }
    assert.ok(entries >= 3);
    for (const info of await listApiKeys(kv, { includeRevoked: true })) {
      assert.equal("hash" in info, false, "lists never expose the digest");
    }
  });
});

Deno.test("listApiKeys hides revoked keys unless asked; unknown ids are not found", async () => {
  await withKv(async (kv) => {
    const c = manualClock(T0);
    const first = await createApiKey(kv, { name: "first", role: "user", now: c.now });
    c.advance(1000);
    const second = await createApiKey(kv, { name: "second", role: "admin", now: c.now });
    assert.deepEqual((await listApiKeys(kv)).map((k) => k.name), ["first", "second"]);
    await revokeApiKey(kv, first.record.id, { now: c.now });
    assert.deepEqual((await listApiKeys(kv)).map((k) => k.id), [second.record.id]);
    assert.deepEqual(
      (await listApiKeys(kv, { includeRevoked: true })).map((k) => k.name),
      ["first", "second"],
    );
    await assert.rejects(
      revokeApiKey(kv, "key_missing", { now: c.now }),
      (e) => e instanceof AppError && e.kind === "not_found",
    );
  });
});

Deno.test("createApiKey rejects a bad role or name", async () => {
  await withKv(async (kv) => {
    const { now } = manualClock(T0);
    await assert.rejects(
      createApiKey(kv, { name: "x", role: "owner" as "admin", now }),
      (e) => e instanceof AppError && e.kind === "validation" && e.field === "role",
    );
    for (const name of ["", "   ", "a\nb", "x".repeat(101)]) {
      await assert.rejects(
        createApiKey(kv, { name, role: "user", now }),
        (e) => e instanceof AppError && e.field === "name",
      );
    }
    assert.deepEqual(await listApiKeys(kv), []);
  });
});

Deno.test("authenticate records lastUsedAt, at most once a minute", async () => {
  await withKv(async (kv) => {
    const c = manualClock(T0);
    const { key } = await createApiKey(kv, { name: "k", role: "user", now: c.now });
    assert.equal((await listApiKeys(kv))[0].lastUsedAt, null);
    await authenticate(kv, key, { now: c.now });
    assert.equal((await listApiKeys(kv))[0].lastUsedAt, T0);
    c.advance(30_000);
    await authenticate(kv, key, { now: c.now });
    assert.equal((await listApiKeys(kv))[0].lastUsedAt, T0);
    c.advance(30_000);
    await authenticate(kv, key, { now: c.now });
    assert.equal((await listApiKeys(kv))[0].lastUsedAt, T0 + 60_000);
  });
});

Deno.test("authRequired is true with MCP_AUTH_TOKEN or while any active key exists", async () => {
  await withKv(async (kv) => {
    const { now } = manualClock(T0);
    assert.equal(await authRequired({}, kv), false);
    assert.equal(await authRequired({ mcpAuthToken: "" }, kv), false);
    assert.equal(await authRequired({ mcpAuthToken: "t" }, kv), true);
    const { record } = await createApiKey(kv, { name: "k", role: "user", now });
    assert.equal(await authRequired({}, kv), true);
    await revokeApiKey(kv, record.id, { now });
    assert.equal(await authRequired({}, kv), false);
  });
});

Deno.test("parseAuthorization tells missing, malformed and bearer apart", () => {
  for (const value of [null, undefined, "", "   "]) {
    assert.deepEqual(parseAuthorization(value), { kind: "missing" });
  }
  for (const value of ["Bearer abc", "bearer abc", "BEARER   abc  ", "Bearer\tabc"]) {
    assert.deepEqual(parseAuthorization(value), { kind: "bearer", token: "abc" });
  }
  assert.deepEqual(parseAuthorization("Bearer oig_a-b_c=="), {
    kind: "bearer",
    token: "oig_a-b_c==",
  });
  for (
    const value of [
      "Basic dXNlcjpwYXNz",
      "Bearer",
      "Bearer   ",
      "Bearer a b",
      "Bearerabc",
      "abc",
      "Bearer abc\u00e9",
      "Bearer abc\ndef",
      ":Bearer abc",
    ]
  ) {
    const parsed = parseAuthorization(value);
    assert.equal(parsed.kind, "malformed", `${JSON.stringify(value)} → ${JSON.stringify(parsed)}`);
  }
  const basic = parseAuthorization("Basic x");
  assert.ok(basic.kind === "malformed" && /scheme: Basic/.test(basic.reason));
});

Deno.test("constantTimeEqual compares bytes exactly", async () => {
  const bytes = (...values: number[]) => new Uint8Array(values);
  assert.equal(constantTimeEqual(bytes(), bytes()), true);
  assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2, 3)), true);
  assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(0, 2, 3)), false);
  assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2, 4)), false);
  assert.equal(constantTimeEqual(bytes(1, 2, 3), bytes(1, 2)), false);
  assert.equal(constantTimeEqual(bytes(0x80), bytes(0x00)), false);
  for (let bit = 0; bit < 8; bit++) {
    assert.equal(constantTimeEqual(bytes(0, 0), bytes(0, 1 << bit)), false, `bit ${bit}`);
  }
  assert.equal(await secretsEqual("s3cret", "s3cret"), true);
  assert.equal(await secretsEqual("s3cret", "s3cre"), false);
  assert.equal(await secretsEqual("", ""), true);
});

Deno.test("anonymous principals are named by address: users elsewhere, admins on loopback", () => {
  assert.equal(anonymousPrincipal("127.0.0.1").role, "admin");
  assert.equal(anonymousPrincipal("::1").role, "admin");
  assert.equal(anonymousPrincipal("::ffff:127.0.0.1").role, "admin");
  const p = anonymousPrincipal("203.0.113.7");
  assert.deepEqual(p, {
    id: "ip:203.0.113.7",
    name: "203.0.113.7",
    role: "user",
    kind: "anonymous",
  });
  assert.equal(hasRole(p, "admin"), false);
});
