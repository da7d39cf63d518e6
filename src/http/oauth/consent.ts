/**
 * The authorization endpoint's protocol, for the consent page the gallery renders
 * (`gallery/routes/consent.tsx`): checking the request, keeping it for the decision, and the
 * redirects back to the client — with `code`, `state` and `iss` (RFC 9207) after an approval,
 * `error=access_denied` after a refusal.
 *
 * @module
 */
import type { Principal } from "../../core_types.ts";
import { getLog } from "../../log.ts";
import {
  type AuthorizationRequest,
  checkAuthorizationRequest,
  discardPendingAuthorization,
  issueCode,
  loadPendingAuthorization,
  type OAuthError,
  type PendingAuthorization,
  savePendingAuthorization,
} from "../../oauth/mod.ts";
import type { HttpOAuth } from "./wiring.ts";

const log = getLog("http", "oauth");

/** What `GET /oauth/authorize` leads to. */
export type ConsentStart =
  /** Ask the person: the request waits under `requestId`. */
  | { readonly kind: "consent"; readonly requestId: string; readonly request: AuthorizationRequest }
  /** Send the browser back to the client (with an error). */
  | { readonly kind: "redirect"; readonly location: string }
  /** Show the error: the client or its redirect URI cannot be trusted with it. */
  | { readonly kind: "refused"; readonly error: OAuthError };

/** The consent flow the gallery's authorize page drives. */
export interface OAuthConsent {
  /** Checks the query of `GET /oauth/authorize`. */
  begin(query: URLSearchParams, signal?: AbortSignal): Promise<ConsentStart>;
  /** The request a consent form names, or null when it is decided or expired. */
  pending(requestId: string): Promise<PendingAuthorization | null>;
  /** Approves for `principal`: where to send the browser, or null when the request is gone. */
  approve(requestId: string, principal: Principal): Promise<string | null>;
  /** Refuses: where to send the browser, or null when the request is gone. */
  deny(requestId: string): Promise<string | null>;
}

/** `redirectUri` with the response parameters added to its query. */
function redirectTo(
  redirectUri: string,
  params: Record<string, string | null>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) {
    if (value !== null) url.searchParams.set(name, value);
  }
  return url.href;
}

/** The consent flow of the built-in authorization server of `oauth`. */
export function createConsentFlow(
  oauth: HttpOAuth,
  deps: { kv: Deno.Kv; now: () => number; authToken?: string | undefined },
): OAuthConsent {
  const { kv, now, authToken } = deps;
  const iss = oauth.issuer;
  return {
    async begin(query, signal) {
      const check = await checkAuthorizationRequest(kv, query, {
        resource: oauth.resource,
        resolveMetadata: oauth.authorizationServer?.resolveClientMetadata,
        ...(signal ? { signal } : {}),
      });
      if (check.ok) {
        const requestId = await savePendingAuthorization(kv, check.request, { now });
        return { kind: "consent", requestId, request: check.request };
      }
      if (!check.redirect) return { kind: "refused", error: check.error };
      return {
        kind: "redirect",
        location: redirectTo(check.redirectUri, {
          error: check.error.code,
          error_description: check.error.message,
          state: check.state,
          iss,
        }),
      };
    },
    pending: (requestId) => loadPendingAuthorization(kv, requestId, { now }),
    async approve(requestId, principal) {
      const issued = await issueCode(kv, requestId, principal, { now, authToken });
      if (issued === null) return null;
      log.info("OAuth consent by {principal} for client {client}", {
        principal: principal.id,
        client: issued.request.clientId,
      });
      return redirectTo(issued.request.redirectUri, {
        code: issued.code,
        state: issued.request.state,
        iss,
      });
    },
    async deny(requestId) {
      const pending = await loadPendingAuthorization(kv, requestId, { now });
      if (pending === null) return null;
      await discardPendingAuthorization(kv, requestId);
      return redirectTo(pending.redirectUri, {
        error: "access_denied",
        error_description: "The person declined the request",
        state: pending.state,
        iss,
      });
    },
  };
}
