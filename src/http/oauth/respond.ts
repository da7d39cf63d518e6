/**
 * Answers of the OAuth endpoints: JSON that is never cached (RFC 6749 §5.1), and errors as
 * `{ error, error_description }` with the status of their code.
 *
 * @module
 */
import type { Context } from "hono";
import { OAuthError } from "../../oauth/mod.ts";

/** A JSON answer with `Cache-Control: no-store`. */
export function oauthJson(c: Context, body: unknown, status: 200 | 201 = 200): Response {
  c.header("Cache-Control", "no-store");
  c.header("Pragma", "no-cache");
  return c.json(body, status);
}

/** Runs `handle`, answering an {@link OAuthError} as RFC 6749 §5.2 asks; rethrows anything else. */
export async function answerOAuthErrors(
  c: Context,
  handle: () => Promise<Response>,
): Promise<Response> {
  try {
    return await handle();
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    c.header("Cache-Control", "no-store");
    return c.json(error.toJSON(), error.status);
  }
}

/** The parameters of a form body (`application/x-www-form-urlencoded`), repeated ones kept. */
export async function formParams(c: Context): Promise<URLSearchParams> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new OAuthError(
      "invalid_request",
      "Send the parameters as application/x-www-form-urlencoded",
    );
  }
  return new URLSearchParams(await c.req.text());
}
