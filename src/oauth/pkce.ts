/**
 * PKCE (RFC 7636) with the S256 method only, as OAuth 2.1 and the MCP authorization
 * specification require: the client proves at the token endpoint that it started the flow.
 *
 * @module
 */
import { constantTimeEqual, sha256 } from "../auth/mod.ts";
import { OAuthError } from "./errors.ts";

// RFC 7636 §4.1: 43–128 unreserved characters; a base64url SHA-256 challenge is 43 characters.
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

/** The S256 challenge of `verifier`: base64url(SHA-256(verifier)), unpadded. */
export async function s256Challenge(verifier: string): Promise<string> {
  return (await sha256(verifier)).toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * Checks the `code_challenge` and `code_challenge_method` of an authorization request: S256
 * only, and a challenge shaped like a base64url SHA-256 digest.
 */
export function checkChallenge(challenge: string | null, method: string | null): string {
  if (challenge === null || challenge === "") {
    throw new OAuthError("invalid_request", "Missing code_challenge: PKCE with S256 is required");
  }
  if (method !== "S256") {
    throw new OAuthError(
      "invalid_request",
      `Unsupported code_challenge_method ${
        JSON.stringify(method ?? "plain")
      }: only S256 is accepted`,
    );
  }
  if (!CHALLENGE.test(challenge)) {
    throw new OAuthError(
      "invalid_request",
      "Invalid code_challenge: expected 43 base64url characters (a SHA-256 digest)",
    );
  }
  return challenge;
}

/** Throws `invalid_grant` unless `verifier` is present, well formed and matches `challenge`. */
export async function verifyPkce(verifier: string | null, challenge: string): Promise<void> {
  if (verifier === null || verifier === "") {
    throw new OAuthError("invalid_request", "Missing code_verifier: the code was issued with PKCE");
  }
  if (!VERIFIER.test(verifier)) {
    throw new OAuthError(
      "invalid_grant",
      "Invalid code_verifier: expected 43–128 characters of A–Z, a–z, 0–9, -, ., _, ~",
    );
  }
  const encoder = new TextEncoder();
  const expected = encoder.encode(challenge);
  const actual = encoder.encode(await s256Challenge(verifier));
  if (!constantTimeEqual(actual, expected)) {
    throw new OAuthError("invalid_grant", "The code_verifier does not match the code_challenge");
  }
}
