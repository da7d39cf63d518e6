/**
 * OAuth scopes and how they relate to the core's roles: `images:read` (read, list),
 * `images:write` (generate, edit, cancel), `images:delete` (delete), `admin` (the admin role, only
 * when the person who consented acts as an admin). The core's policy table enforces them.
 *
 * @module
 */
import type { OAuthScope } from "../core_types.ts";
import { OAuthError } from "./errors.ts";

export type { OAuthScope };

/** Every scope, in the order pages and metadata list them. */
export const OAUTH_SCOPES: readonly OAuthScope[] = Object.freeze([
  "images:read",
  "images:write",
  "images:delete",
  "admin",
] as OAuthScope[]);

/** Scopes granted when a client asks for none: everything but `admin`. */
export const DEFAULT_SCOPES: readonly OAuthScope[] = Object.freeze([
  "images:read",
  "images:write",
  "images:delete",
] as OAuthScope[]);

/** What each scope allows, in words for the consent page. */
export const SCOPE_WORDS: Readonly<Record<OAuthScope, string>> = Object.freeze({
  "images:read": "see and list images",
  "images:write": "generate and edit images, and cancel generations",
  "images:delete": "delete images",
  "admin": "act as an administrator (only if your key is an admin key)",
});

/** True when `value` is one of {@link OAUTH_SCOPES}. */
export function isOAuthScope(value: string): value is OAuthScope {
  return (OAUTH_SCOPES as readonly string[]).includes(value);
}

/**
 * The scopes of a space-separated `scope` parameter, in the canonical order; {@link DEFAULT_SCOPES}
 * when it is absent or empty. An unknown scope is `invalid_scope`.
 */
export function parseScopes(text: string | null | undefined): OAuthScope[] {
  const words = (text ?? "").split(" ").filter((w) => w !== "");
  if (words.length === 0) return [...DEFAULT_SCOPES];
  const unknown = words.filter((w) => !isOAuthScope(w));
  if (unknown.length > 0) {
    throw new OAuthError(
      "invalid_scope",
      `Unknown scope ${JSON.stringify(unknown[0])}: expected some of ${OAUTH_SCOPES.join(", ")}`,
    );
  }
  return OAUTH_SCOPES.filter((s) => words.includes(s));
}

/** `scopes` as a space-separated `scope` value. */
export function formatScopes(scopes: readonly OAuthScope[]): string {
  return scopes.join(" ");
}
