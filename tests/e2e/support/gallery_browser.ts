/**
 * The gallery as a browser without JavaScript uses it: a cookie jar, pages fetched without
 * following redirects, forms posted with the CSRF token of the page that carries them.
 *
 * @module
 */
import assert from "node:assert/strict";

/** A browser of the gallery at `base` with its own cookie jar. */
export function galleryBrowser(base: string) {
  const cookies = new Map<string, string>();
  /** Fetches `path` with the jar's cookies and keeps the ones the answer sets. */
  const request = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (cookies.size > 0) {
      headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(`${base}${path}`, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  };
  // Every page with a form carries the token; /generate has one for any caller who may generate.
  /** The CSRF token of the form on `path`. */
  const csrfOf = async (path: string) => {
    const html = await (await request(path)).text();
    return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  };
  /** Posts `fields` as a form to `path`. */
  const post = (path: string, fields: Record<string, string>) =>
    request(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  return { request, csrfOf, post };
}

/** A browser of the gallery at `base`, signed in with `key` (an API key or the admin token). */
export async function signedInBrowser(
  base: string,
  key: string,
): Promise<ReturnType<typeof galleryBrowser>> {
  const browser = galleryBrowser(base);
  const login = await browser.post("/login", {
    key,
    next: "/",
    _csrf: await browser.csrfOf("/login"),
  });
  await login.body?.cancel();
  assert.equal(login.status, 303, "signed in");
  return browser;
}
