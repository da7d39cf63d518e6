/**
 * Browser sessions and CSRF protection of the gallery.
 *
 * A session is made by exchanging an API key (or `MCP_AUTH_TOKEN`) once, on the sign-in form; the
 * browser then holds only a random session id in an HttpOnly, SameSite=Strict cookie (`Secure`,
 * with the `__Host-` prefix, when the page was reached over https). KV keeps the session under the
 * SHA-256 of that id, with its deadline in the value (KV expiry is lazy, so it only tidies up).
 * Every read re-checks the key behind the session: a revoked key, a changed role or a rotated
 * `MCP_AUTH_TOKEN` takes effect on the next page.
 *
 * CSRF: a signed-in form carries the session's own random token (synchronizer token). Without a
 * session (auth off, or the sign-in form itself) a double-submit scheme is used: a random nonce in
 * an HttpOnly cookie, and in the form the HMAC of that nonce under a secret kept in KV.
 *
 * Key layout:
 * ```
 * ["gallery", "session", sha256Hex(sessionId)] → StoredSession
 * ["gallery", "csrf_secret"]                   → 32 random bytes
 * ```
 *
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import {
  AUTH_KEYS,
  constantTimeEqual,
  digestHex,
  randomToken,
  sha256,
  type StoredKey,
} from "../../auth/mod.ts";
import type { Principal } from "../../core_types.ts";
import { kvCommit, kvGet, kvHmacKey } from "../../kv/mod.ts";

/** KV keys of the gallery's own records. */
export const GALLERY_KV = {
  session: (digestHex: string): Deno.KvKey => ["gallery", "session", digestHex],
  csrfSecret: ["gallery", "csrf_secret"] as Deno.KvKey,
} as const;

/** How long a session lasts from sign-in (7 days). */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** What KV holds for a session (never the key it was made from). */
interface StoredSession {
  principalId: string;
  name: string;
  role: Principal["role"];
  kind: Principal["kind"];
  csrf: string;
  created: number;
  expires: number;
  /** For `MCP_AUTH_TOKEN` sessions: SHA-256 of the token, so rotating it ends them. */
  tokenDigest?: string;
}

/** A valid session. */
export interface Session {
  /** Who signed in, with the role their key has now. */
  readonly principal: Principal;
  /** The session's CSRF token. */
  readonly csrf: string;
  /** Deadline, epoch milliseconds. */
  readonly expires: number;
}

const encoder = new TextEncoder();

function isToken(value: string | undefined): value is string {
  return value !== undefined && /^[A-Za-z0-9_-]{32,64}$/.test(value);
}

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** `MCP_AUTH_TOKEN`, if set. */
  authToken?: string | undefined;
  /** Session lifetime (default {@link SESSION_TTL_MS}). */
  ttlMs?: number;
}

/** Sessions kept in KV, addressed by the digest of their id. */
export class SessionStore {
  #kv: Deno.Kv;
  #options: SessionStoreOptions;

  /** Creates a store over `kv`. */
  constructor(kv: Deno.Kv, options: SessionStoreOptions) {
    this.#kv = kv;
    this.#options = options;
  }

  /** Starts a session for `principal`; returns the id to put in the cookie. */
  async create(principal: Principal): Promise<{ id: string; session: Session }> {
    const id = randomToken();
    const now = this.#options.now();
    const ttl = this.#options.ttlMs ?? SESSION_TTL_MS;
    const stored: StoredSession = {
      principalId: principal.id,
      name: principal.name,
      role: principal.role,
      kind: principal.kind,
      csrf: randomToken(),
      created: now,
      expires: now + ttl,
      ...(principal.kind === "token" && this.#options.authToken
        ? { tokenDigest: await digestHex(this.#options.authToken) }
        : {}),
    };
    const key = GALLERY_KV.session(await digestHex(id));
    await kvCommit(this.#kv, (op) => op.set(key, stored, { expireIn: ttl }));
    return { id, session: { principal, csrf: stored.csrf, expires: stored.expires } };
  }

  /** The session `id` names, or null when it does not exist, has expired or its key is gone. */
  async read(id: string | undefined): Promise<Session | null> {
    if (!isToken(id)) return null;
    const key = GALLERY_KV.session(await digestHex(id));
    const entry = await kvGet<StoredSession>(this.#kv, key);
    const stored = entry.value;
    if (stored === null) return null;
    if (stored.expires <= this.#options.now()) {
      await this.#kv.delete(key).catch(() => undefined);
      return null;
    }
    const principal = await this.#currentPrincipal(stored);
    if (principal === null) {
      await this.#kv.delete(key).catch(() => undefined);
      return null;
    }
    return { principal, csrf: stored.csrf, expires: stored.expires };
  }

  /** Ends the session `id` names (no error when there is none). */
  async delete(id: string | undefined): Promise<void> {
    if (!isToken(id)) return;
    await this.#kv.delete(GALLERY_KV.session(await digestHex(id)));
  }

  async #currentPrincipal(stored: StoredSession): Promise<Principal | null> {
    if (stored.kind === "token") {
      const token = this.#options.authToken;
      if (!token || stored.tokenDigest === undefined) return null;
      const digest = await sha256(token);
      if (!constantTimeEqual(digest, Uint8Array.fromHex(stored.tokenDigest))) return null;
      return { id: stored.principalId, name: stored.name, role: stored.role, kind: "token" };
    }
    if (stored.kind === "key") {
      const key = await kvGet<StoredKey>(this.#kv, AUTH_KEYS.key(stored.principalId));
      if (key.value === null || key.value.revokedAt !== null) return null;
      return { id: key.value.id, name: key.value.name, role: key.value.role, kind: "key" };
    }
    return null;
  }
}

/** HMAC tokens for the double-submit CSRF scheme, under a secret kept in KV. */
export class CsrfSigner {
  #key: () => Promise<CryptoKey>;

  /** Creates a signer; the secret is read (or made) on first use. */
  constructor(kv: Deno.Kv) {
    this.#key = kvHmacKey(kv, GALLERY_KV.csrfSecret);
  }

  #cryptoKey(): Promise<CryptoKey> {
    return this.#key();
  }

  /** The form token that goes with the cookie `nonce`. */
  async tokenFor(nonce: string): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      await this.#cryptoKey(),
      encoder.encode(`gallery-csrf\n${nonce}`),
    );
    return new Uint8Array(mac).toBase64({ alphabet: "base64url", omitPadding: true });
  }

  /** Whether `token` is the form token of `nonce`. */
  async verify(nonce: string | undefined, token: string | undefined): Promise<boolean> {
    if (!isToken(nonce) || !isToken(token)) return false;
    const expected = await this.tokenFor(nonce);
    return constantTimeEqual(encoder.encode(expected), encoder.encode(token));
  }
}

/** Whether responses to this request may set `Secure` cookies (the page was reached over https). */
export interface CookieScope {
  /** True over https: cookies get `Secure` and the `__Host-` prefix. */
  readonly secure: boolean;
}

function cookieName(base: string, scope: CookieScope): string {
  return scope.secure ? `__Host-${base}` : base;
}

const SESSION_COOKIE = "gallery_session";
const CSRF_COOKIE = "gallery_csrf";

/** The session id the request carries, if any. */
export function sessionCookie(c: Context, scope: CookieScope): string | undefined {
  return getCookie(c, cookieName(SESSION_COOKIE, scope));
}

/** Sets the session cookie (HttpOnly, SameSite=Strict, `Secure` over https). */
export function setSessionCookie(
  c: Context,
  scope: CookieScope,
  id: string,
  maxAgeSeconds: number,
): void {
  setCookie(c, cookieName(SESSION_COOKIE, scope), id, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: scope.secure,
    maxAge: maxAgeSeconds,
  });
}

/** Clears the session cookie. */
export function clearSessionCookie(c: Context, scope: CookieScope): void {
  deleteCookie(c, cookieName(SESSION_COOKIE, scope), {
    path: "/",
    secure: scope.secure,
    httpOnly: true,
    sameSite: "Strict",
  });
}

/**
 * The double-submit nonce of the request; when it has none, a fresh one is made and set as a
 * cookie on the response.
 */
export function csrfNonce(c: Context, scope: CookieScope): string {
  const existing = getCookie(c, cookieName(CSRF_COOKIE, scope));
  if (isToken(existing)) return existing;
  const nonce = randomToken();
  setCookie(c, cookieName(CSRF_COOKIE, scope), nonce, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: scope.secure,
  });
  return nonce;
}

/** The double-submit nonce the request carries, without making one. */
export function existingCsrfNonce(c: Context, scope: CookieScope): string | undefined {
  return getCookie(c, cookieName(CSRF_COOKIE, scope));
}

/** Compares two tokens in constant time. */
export function tokensEqual(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return constantTimeEqual(encoder.encode(a), encoder.encode(b));
}
