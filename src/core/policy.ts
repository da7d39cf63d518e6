/**
 * Who may do what with images: one table, used by the core for every door and rendered into
 * docs/authorization.md (drift-tested), so the code and the documentation cannot disagree.
 *
 * Roles: `admin` (an admin key, `MCP_AUTH_TOKEN`, the local stdio/CLI user, and — with auth off —
 * callers on a loopback address), `user` (a user key, or a caller on another address while auth is
 * off), `guest` (a signed-out gallery visitor, allowed in only to browse when `IMAGES_PUBLIC=true`).
 * File URLs (`/images/*`) are governed by `IMAGES_PUBLIC`, signed links and keys, which the HTTP
 * door checks; a read it lets through comes with `via: "file_url"` and ownership does not apply.
 *
 * An OAuth access token's principal also carries scopes: each operation needs the scope its row
 * names, on top of the role (a token acts as an admin only with the `admin` scope). Principals
 * without scopes (API keys, `MCP_AUTH_TOKEN`, local, anonymous) are not limited by scope.
 *
 * @module
 */
import type { Caller, ImageRecord, OAuthScope, Principal } from "../core_types.ts";
import { AppError } from "../errors.ts";
import { markdownTable } from "../markdown.ts";

/** What a caller can ask of the image service. */
export type Operation = "generate" | "edit" | "read" | "list" | "delete" | "cancel";

/** The role a caller acts in. */
export type PolicyRole = "admin" | "user" | "guest";

/** Which images an operation may touch: all, the caller's own, all when public, or none. */
export type Scope = "all" | "own" | "public" | "none";

/** One operation's rights per role, and its wording for the docs. */
export interface PolicyRow {
  /** The operation. */
  readonly operation: Operation;
  /** What it covers, for the docs. */
  readonly covers: string;
  /** Scope per role. */
  readonly scopes: Readonly<Record<PolicyRole, Scope>>;
  /** The OAuth scope an access token needs for the operation. */
  readonly oauthScope: OAuthScope;
}

/** The authorization table (rendered into docs/authorization.md). */
export const POLICY: readonly PolicyRow[] = Object.freeze([
  {
    operation: "generate",
    covers: "generate images",
    scopes: { admin: "all", user: "all", guest: "none" },
    oauthScope: "images:write",
  },
  {
    operation: "edit",
    covers: "edit images; stored images used as inputs must be readable by the caller",
    scopes: { admin: "all", user: "all", guest: "none" },
    oauthScope: "images:write",
  },
  {
    operation: "read",
    covers: "get an image's record, bytes, preview or thumbnail; wait for a pending image",
    scopes: { admin: "all", user: "own", guest: "public" },
    oauthScope: "images:read",
  },
  {
    operation: "list",
    covers: "list and search the catalog (a user's list holds only its own images)",
    scopes: { admin: "all", user: "own", guest: "public" },
    oauthScope: "images:read",
  },
  {
    operation: "delete",
    covers: "delete an image",
    scopes: { admin: "all", user: "own", guest: "none" },
    oauthScope: "images:delete",
  },
  {
    operation: "cancel",
    covers: "cancel a running generation",
    scopes: { admin: "all", user: "own", guest: "none" },
    oauthScope: "images:write",
  },
]);

/** Settings the policy depends on. */
export interface PolicySettings {
  /** `IMAGES_PUBLIC`. */
  readonly imagesPublic: boolean;
}

/** The role `caller` acts in. */
export function roleOf(caller: Pick<Caller, "principal">): PolicyRole {
  if (caller.principal === null) return "guest";
  return caller.principal.role;
}

/** The scope `caller` has for `operation`, with `public` resolved against the settings. */
export function scopeOf(
  caller: Pick<Caller, "principal">,
  operation: Operation,
  settings: PolicySettings,
): "all" | "own" | "none" {
  const row = POLICY.find((r) => r.operation === operation);
  const scope = row?.scopes[roleOf(caller)] ?? "none";
  if (scope === "public") return settings.imagesPublic ? "all" : "none";
  return scope;
}

function who(caller: Pick<Caller, "principal">): string {
  const principal = caller.principal;
  if (principal === null) return "a signed-out visitor";
  return `${principal.role} ${JSON.stringify(principal.id)}`;
}

/**
 * Whether a signed-in caller may read image files by URL (`/images/*`) with its credentials: any
 * key does; an OAuth access token needs `images:read`.
 */
export function mayReadFiles(principal: Principal): boolean {
  return principal.scopes === undefined || principal.scopes.includes("images:read");
}

/** Throws `forbidden` (insufficient_scope) when an OAuth token lacks the operation's scope. */
function checkOAuthScope(principal: Principal | null, operation: Operation): void {
  if (principal?.scopes === undefined) return;
  const needed = POLICY.find((r) => r.operation === operation)?.oauthScope;
  if (needed === undefined || principal.scopes.includes(needed)) return;
  throw new AppError(
    "forbidden",
    `Forbidden: this access token may not ${operation} images: it needs the ${needed} scope ` +
      `(granted: ${principal.scopes.join(" ") || "none"})`,
    { details: { authError: "insufficient_scope", scope: needed } },
  );
}

/**
 * Throws unless `caller` may do `operation` (on `record`, when the operation concerns one image).
 * A signed-out caller gets `unauthorized`, a signed-in one without the right `forbidden`.
 */
export function authorize(
  caller: Pick<Caller, "principal" | "via">,
  operation: Operation,
  settings: PolicySettings,
  record?: Pick<ImageRecord, "id" | "creator"> | { id: string; creator: string | null },
): void {
  if (operation === "read" && caller.via === "file_url") return;
  checkOAuthScope(caller.principal, operation);
  const scope = scopeOf(caller, operation, settings);
  if (scope === "all") return;
  if (scope === "own" && (record === undefined || record.creator === caller.principal?.id)) {
    return;
  }
  const subject = record === undefined ? "" : ` image ${record.id}`;
  if (caller.principal === null) {
    throw new AppError(
      "unauthorized",
      `Sign in to ${operation}${subject}: images are not public here (IMAGES_PUBLIC=false)`,
    );
  }
  throw new AppError(
    "forbidden",
    scope === "own"
      ? `Forbidden: cannot ${operation}${subject}: it belongs to another key, and a user key may ` +
        `${operation} only its own images`
      : `Forbidden: ${who(caller)} may not ${operation} images`,
  );
}

const SCOPE_WORDS: Record<Scope, string> = {
  all: "all images",
  own: "own images only",
  public: "all images when `IMAGES_PUBLIC=true`, else nothing",
  none: "—",
};

const GENERATION_WORDS: Record<Scope, string> = {
  all: "yes",
  own: "yes",
  public: "no",
  none: "no",
};

/** How file URLs are governed, for the docs (the HTTP door checks it; see src/http/routes/images.ts). */
const FILE_URL_ROW = [
  "file URL",
  "`GET /images/{file}` and its thumbnail",
  "anyone when `IMAGES_PUBLIC=true`; else a signed link or any valid key or token",
  "same",
  "same",
  "`images:read` (or a signed link)",
];

/** The policy as a Markdown table (the body of docs/authorization.md's table). */
export function policyTable(): string {
  const rows = POLICY.map((row) => {
    const words = row.operation === "generate" || row.operation === "edit"
      ? GENERATION_WORDS
      : SCOPE_WORDS;
    return [
      row.operation,
      row.covers,
      words[row.scopes.admin],
      words[row.scopes.user],
      words[row.scopes.guest],
      `\`${row.oauthScope}\``,
    ];
  });
  return markdownTable([
    ["operation", "covers", "admin", "user", "guest", "OAuth scope"],
    ...rows,
    FILE_URL_ROW,
  ]).join("\n");
}

/** Whether `caller` may do `operation` (on `record`); for doors deciding which controls to show. */
export function permits(
  caller: Pick<Caller, "principal" | "via">,
  operation: Operation,
  settings: PolicySettings,
  record?: { id: string; creator: string | null },
): boolean {
  try {
    authorize(caller, operation, settings, record);
    return true;
  } catch {
    return false;
  }
}

/** An OAuth grant as the policy sees it: whose consent it is. */
export interface GrantOwner {
  /** The grant's id. */
  readonly id: string;
  /** The principal that consented. */
  readonly principalId: string;
}

/**
 * Whose OAuth grants (connected apps) `caller` may see and revoke: an admin everyone's, anyone
 * else signed in only the grants they consented to themselves, a guest none.
 */
export function grantScopeOf(caller: Pick<Caller, "principal">): "all" | "own" | "none" {
  const role = roleOf(caller);
  if (role === "admin") return "all";
  return role === "user" ? "own" : "none";
}

/**
 * Throws unless `caller` may revoke `grant` ({@link grantScopeOf}): `unauthorized` for a guest,
 * `forbidden` for someone else's grant.
 */
export function authorizeGrantRevocation(
  caller: Pick<Caller, "principal">,
  grant: GrantOwner,
): void {
  const scope = grantScopeOf(caller);
  if (scope === "all" || (scope === "own" && grant.principalId === caller.principal?.id)) return;
  if (caller.principal === null) {
    throw new AppError("unauthorized", `Sign in to revoke connected app ${grant.id}`);
  }
  throw new AppError(
    "forbidden",
    `Forbidden: cannot revoke connected app ${grant.id}: another person allowed it, and only ` +
      "they or an admin may revoke it",
  );
}

/** The local user of the stdio server and the CLI: owns everything it stores, acts as the admin. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({
  id: "local",
  name: "local user",
  role: "admin",
  kind: "local",
});
