/**
 * Reading the `Authorization` request header. The answer tells a missing header (401, "send a
 * token") from a malformed one (401, "this is not a bearer token") from a bearer token to check.
 *
 * @module
 */

/** What an `Authorization` header holds. */
export type AuthorizationHeader =
  | { readonly kind: "missing" }
  | { readonly kind: "malformed"; readonly reason: string }
  | { readonly kind: "bearer"; readonly token: string };

// Visible ASCII: RFC 6750's token68 plus what the predecessor's users may have put in
// MCP_AUTH_TOKEN; never spaces or control characters.
const TOKEN = /^[\x21-\x7e]+$/;

/** Parses an `Authorization` header value (`Bearer <token>`, scheme case-insensitive). */
export function parseAuthorization(value: string | null | undefined): AuthorizationHeader {
  if (value === null || value === undefined || value.trim() === "") return { kind: "missing" };
  const match = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+(.*))?$/.exec(value);
  if (match === null) {
    return { kind: "malformed", reason: "Expected `Authorization: Bearer <token>`" };
  }
  const [, scheme, rest] = match;
  if (scheme.toLowerCase() !== "bearer") {
    return { kind: "malformed", reason: `Unsupported authorization scheme: ${scheme}` };
  }
  const token = (rest ?? "").trim();
  if (token === "") return { kind: "malformed", reason: "The bearer token is empty" };
  if (!TOKEN.test(token)) {
    return {
      kind: "malformed",
      reason: "The bearer token contains spaces or characters that are not visible ASCII",
    };
  }
  return { kind: "bearer", token };
}
