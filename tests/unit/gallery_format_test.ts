/**
 * The gallery's error copy: a refusal's hint fits every refusal — a form token that expired or came
 * from another session, another key's image — not only a missing role.
 */
import assert from "node:assert/strict";
import { describeError } from "../../src/http/gallery/format.ts";

Deno.test("a forbidden page's hint does not blame the key's role", () => {
  const { title, hint } = describeError("forbidden");
  assert.equal(title, "Not allowed");
  assert.doesNotMatch(hint, /role/, "a stale form token or another key's image is no role problem");
});
