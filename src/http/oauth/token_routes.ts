/**
 * The built-in authorization server's back-channel endpoints: `POST /oauth/token` (authorization
 * code with PKCE, refresh token rotation), `POST /oauth/register` (RFC 7591, behind `OAUTH_DCR`,
 * `OAUTH_DCR_LIMIT` per address and hour) and `POST /oauth/revoke` (RFC 7009). Clients are public:
 * they name themselves with `client_id` (looked up again on every token request: a registration,
 * or a Client ID Metadata Document, cached) and prove possession with PKCE.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { getLog } from "../../log.ts";
import {
  checkSingleParams,
  exchangeCode,
  findClient,
  OAUTH_PATHS,
  OAuthError,
  refreshTokens,
  registerClient,
  registrationResponse,
  revokeToken,
  type TokenSettings,
} from "../../oauth/mod.ts";
import { recordRegistration } from "../../ratelimit/mod.ts";
import { clientIp } from "../client_ip.ts";
import type { HttpEnv } from "../deps.ts";
import type { RouteContext } from "../route_context.ts";
import { answerOAuthErrors, formParams, oauthJson } from "./respond.ts";
import type { BuiltInAuthorizationServer, HttpOAuth } from "./wiring.ts";

const log = getLog("http", "oauth");

/**
 * The client id of a token or revocation request: the `client_id` parameter, or the user name of
 * HTTP Basic authentication (a public client's empty or ignored secret); both must agree.
 */
function clientIdOf(c: Context, params: URLSearchParams): string | null {
  const param = params.get("client_id");
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(c.req.header("authorization") ?? "");
  if (basic === null) return param;
  let name: string;
  try {
    const decoded = new TextDecoder().decode(Uint8Array.fromBase64(basic[1]));
    name = decodeURIComponent(decoded.split(":")[0]);
  } catch {
    // RFC 6749 §5.2: a failed Authorization-header authentication names its scheme.
    c.header("WWW-Authenticate", 'Basic realm="OAuth clients"');
    throw new OAuthError("invalid_client", "Malformed HTTP Basic client authentication");
  }
  if (name === "") return param;
  if (param !== null && param !== name) {
    throw new OAuthError(
      "invalid_request",
      "The client_id parameter differs from the client named by HTTP Basic authentication",
    );
  }
  return name;
}

/** Registers the token, registration and revocation endpoints on `app`. */
export function registerTokenRoutes(
  app: Hono<HttpEnv>,
  ctx: RouteContext,
  oauth: HttpOAuth,
  server: BuiltInAuthorizationServer,
): void {
  const { kv, now } = ctx;
  const settings: TokenSettings = {
    resource: oauth.resource,
    accessTokenSeconds: server.accessTokenSeconds,
    refreshTokenDays: server.refreshTokenDays,
    now,
    authToken: ctx.config.mcpAuthToken,
  };

  app.post(OAUTH_PATHS.token, (c) =>
    answerOAuthErrors(c, async () => {
      const params = await formParams(c);
      checkSingleParams(params, [
        "grant_type",
        "code",
        "client_id",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
      ]);
      const grantType = params.get("grant_type");
      const clientId = clientIdOf(c, params);
      const resources = params.getAll("resource");
      if (grantType === "authorization_code" || grantType === "refresh_token") {
        // The client must still be one this server accepts: registered, or a metadata document
        // that can be fetched and is acceptable now (invalid_client names what is wrong).
        await findClient(kv, clientId, {
          resolveMetadata: server.resolveClientMetadata,
          signal: c.req.raw.signal,
        });
      }
      if (grantType === "authorization_code") {
        const tokens = await exchangeCode(kv, {
          code: params.get("code"),
          clientId,
          redirectUri: params.get("redirect_uri"),
          codeVerifier: params.get("code_verifier"),
          resources,
        }, settings);
        log.info("OAuth tokens issued to client {client}", { client: clientId });
        return oauthJson(c, tokens);
      }
      if (grantType === "refresh_token") {
        const tokens = await refreshTokens(kv, {
          refreshToken: params.get("refresh_token"),
          clientId,
          scope: params.get("scope"),
          resources,
        }, settings);
        return oauthJson(c, tokens);
      }
      if (grantType === null || grantType === "") {
        throw new OAuthError("invalid_request", "Missing grant_type");
      }
      throw new OAuthError(
        "unsupported_grant_type",
        `Unsupported grant_type ${
          JSON.stringify(grantType.slice(0, 100))
        }: use authorization_code or refresh_token`,
      );
    }));

  app.post(OAUTH_PATHS.revoke, (c) =>
    answerOAuthErrors(c, async () => {
      const params = await formParams(c);
      checkSingleParams(params, ["token", "token_type_hint", "client_id"]);
      const token = params.get("token");
      if (token === null || token === "") throw new OAuthError("invalid_request", "Missing token");
      await revokeToken(kv, token, { clientId: clientIdOf(c, params), now });
      return oauthJson(c, {});
    }));

  if (!server.dcr) return;
  app.post(OAUTH_PATHS.register, (c) =>
    answerOAuthErrors(c, async () => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new OAuthError("invalid_client_metadata", "The registration is not valid JSON");
      }
      const refusal = await recordRegistration(kv, clientIp(c, ctx.config), {
        limit: server.dcrLimit,
        now,
      });
      if (refusal !== null) throw refusal;
      const client = await registerClient(kv, body, { now });
      log.info("OAuth client {client} registered ({name})", {
        client: client.clientId,
        name: client.clientName ?? "no name",
      });
      return oauthJson(c, registrationResponse(client), 201);
    }));
}
