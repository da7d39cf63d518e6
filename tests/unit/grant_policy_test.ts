/**
 * Who may see and revoke connected apps (OAuth grants), as src/core/policy.ts decides for every
 * door: an admin everyone's, a user only its own, a guest nothing.
 */
import assert from "node:assert/strict";
import type { Principal } from "../../src/core_types.ts";
import { authorizeGrantRevocation, grantScopeOf } from "../../src/core/policy.ts";
import { AppError } from "../../src/errors.ts";

const ALICE: Principal = { id: "key_alice", name: "alice", role: "user", kind: "key" };
const ADMIN: Principal = { id: "token", name: "admin token", role: "admin", kind: "token" };
const ALICES_GRANT = { id: "grant_a", principalId: "key_alice" };
const BOBS_GRANT = { id: "grant_b", principalId: "key_bob" };

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError);
    return `${error.kind}: ${error.message}`;
  }
  return "allowed";
}

Deno.test("an admin reaches every grant, a user only its own, a guest none", () => {
  assert.equal(grantScopeOf({ principal: ADMIN }), "all");
  assert.equal(grantScopeOf({ principal: ALICE }), "own");
  assert.equal(grantScopeOf({ principal: null }), "none");
  assert.equal(
    refusal(() => authorizeGrantRevocation({ principal: ADMIN }, BOBS_GRANT)),
    "allowed",
  );
  assert.equal(
    refusal(() => authorizeGrantRevocation({ principal: ALICE }, ALICES_GRANT)),
    "allowed",
  );
  assert.equal(
    refusal(() => authorizeGrantRevocation({ principal: ALICE }, BOBS_GRANT)),
    "forbidden: Forbidden: cannot revoke connected app grant_b: another person allowed it, and " +
      "only they or an admin may revoke it",
  );
  assert.equal(
    refusal(() => authorizeGrantRevocation({ principal: null }, ALICES_GRANT)),
    "unauthorized: Sign in to revoke connected app grant_a",
  );
});
