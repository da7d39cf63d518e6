/**
 * Errors of the authorization server, by the OAuth error codes of RFC 6749 §5.2, RFC 7591 §3.2.2
 * and RFC 7009, which the HTTP routes answer as `{ error, error_description }`.
 *
 * @module
 */

/** An OAuth error code. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "invalid_target"
  | "access_denied"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "unsupported_token_type"
  | "temporarily_unavailable";

const STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  temporarily_unavailable: 503,
};

/** A refusal the token, register, revoke and authorize endpoints answer with its OAuth code. */
export class OAuthError extends Error {
  /** The OAuth error code. */
  readonly code: OAuthErrorCode;

  /** Creates an error with `code` and a message in sentence case (the `error_description`). */
  constructor(code: OAuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OAuthError";
    this.code = code;
  }

  /** HTTP status of the answer: 401 for `invalid_client`, 400 for the rest. */
  get status(): 400 | 401 | 503 {
    return (STATUS[this.code] ?? 400) as 400 | 401 | 503;
  }

  /** The RFC 6749 JSON body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.message };
  }
}
