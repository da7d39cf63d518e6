/**
 * A real OpenID provider for tests: the npm `oidc-provider` package (not one written here) on a
 * random loopback port, run under Deno's Node compatibility. It issues RFC 9068 JWT access tokens
 * (`typ: at+jwt`, ES256) for one resource — the service's `/mcp` — with the `images:*` and `admin`
 * scopes, to a public client that must use PKCE. Signing in and consenting are automatic: the
 * provider's interaction page is answered here for the account the test chose, so a "browser" is
 * any loop that follows redirects with cookies ({@link OidcProvider.signIn}).
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
// @ts-types="@types/oidc-provider"
import Provider, { type Configuration } from "oidc-provider";
import { exportJWK, generateKeyPair, type JWK } from "jose";

/** The scopes the test resource server knows. */
export const RESOURCE_SCOPES = "images:read images:write images:delete admin";

/** Who signs in at the provider, and which of the requested scopes they grant. */
export interface TestAccount {
  /** The subject (`sub`). */
  sub: string;
  /** Display name, put into access tokens as `preferred_username`. */
  username: string;
  /** Scopes the account grants; requested scopes outside it are left out. Default: all. */
  grants?: readonly string[];
}

/** Options of {@link startOidcProvider}. */
export interface OidcProviderOptions {
  /** The protected resource (token audience), e.g. `${PUBLIC_BASE_URL}/mcp`. */
  resource: string;
  /** Redirect URIs of the public client. Default: `http://127.0.0.1/callback`. */
  redirectUris?: readonly string[];
  /** Access token lifetime, seconds. Default 300. */
  accessTokenSeconds?: number;
}

/** A running provider. */
export interface OidcProvider extends AsyncDisposable {
  /** The issuer identifier (`http://127.0.0.1:<port>`). */
  readonly issuer: string;
  /** The resource its access tokens are for. */
  readonly resource: string;
  /** The registered public client (PKCE, refresh tokens). */
  readonly clientId: string;
  /** The client's first redirect URI. */
  readonly redirectUri: string;
  /** The provider's signing key and its `kid`, for tests that forge tokens it could have signed. */
  readonly signing: { readonly key: SigningKey; readonly kid: string };
  /** The account that signs in next (change it between flows). */
  account: TestAccount;
  /**
   * Plays the browser: opens `authorizationUrl`, signs in and consents as {@link account}, and
   * returns the URL the provider finally redirects to (the client's redirect URI with `code`).
   */
  signIn(authorizationUrl: string | URL): Promise<URL>;
  /** Runs the whole authorization code flow with PKCE and returns the token response. */
  obtainTokens(scope: string, resource?: string): Promise<TokenResponse>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** A private key as jose makes and takes it. */
export type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** The token endpoint's answer. */
export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

/** Starts an `oidc-provider` on 127.0.0.1 with a random port. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUris = [...(options.redirectUris ?? ["http://127.0.0.1/callback"])];
  const clientId = "test-public-client";
  const state = { account: { sub: "alice", username: "Alice" } as TestAccount };
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const signing = { key: privateKey, kid: "test-es256" };
  const jwk = { ...(await exportJWK(privateKey)), kid: signing.kid, use: "sig" };
  const provider = new Provider(
    issuer,
    configuration(options, { clientId, redirectUris, jwk }, state),
  );
  const callback = provider.callback();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith("/interaction/")) {
      answerInteraction(provider, req, res, state.account).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    } else {
      callback(req, res);
    }
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const harness: OidcProvider = {
    issuer,
    resource: options.resource,
    clientId,
    redirectUri: redirectUris[0],
    signing,
    get account() {
      return state.account;
    },
    set account(value) {
      state.account = value;
    },
    signIn: (url) => followRedirects(new URL(url), redirectUris),
    obtainTokens: (scope, resource = options.resource) =>
      codeFlow(harness, { scope, resource, issuer }),
    close,
    [Symbol.asyncDispose]: close,
  };
  return harness;
}

interface AccountState {
  account: TestAccount;
}

function configuration(
  options: OidcProviderOptions,
  { clientId, redirectUris, jwk }: { clientId: string; redirectUris: string[]; jwk: JWK },
  state: AccountState,
): Configuration {
  return {
    clients: [{
      client_id: clientId,
      token_endpoint_auth_method: "none",
      redirect_uris: redirectUris,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }],
    clientDefaults: { id_token_signed_response_alg: "ES256" },
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => ({
          scope: RESOURCE_SCOPES,
          audience: indicator,
          accessTokenTTL: options.accessTokenSeconds ?? 300,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "ES256" } },
        }),
      },
    },
    ttl: {
      AccessToken: options.accessTokenSeconds ?? 300,
      Grant: 3600,
      Interaction: 600,
      RefreshToken: 86400,
      Session: 3600,
    },
    // Refresh tokens without the OIDC `offline_access` dance: MCP clients ask for resource scopes.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    extraTokenClaims: (_ctx, token) =>
      "accountId" in token && token.accountId === state.account.sub
        ? { preferred_username: state.account.username }
        : undefined,
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    // Tests run on plain loopback http, where the provider's cookies cannot be `Secure`.
    cookies: { long: { secure: false }, short: { secure: false } },
  };
}

/** Signs in as `account` and consents to the scopes it grants, then resumes the flow. */
async function answerInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  account: TestAccount,
): Promise<void> {
  const interaction = await provider.interactionDetails(req, res);
  const { prompt, params, session } = interaction;
  if (prompt.name === "login") {
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  const grant = interaction.grantId
    ? (await provider.Grant.find(interaction.grantId))!
    : new provider.Grant({ accountId: session!.accountId, clientId: params.client_id as string });
  const details = prompt.details as {
    missingOIDCScope?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(" "));
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    const granted = scopes.filter((s) => account.grants?.includes(s) ?? true);
    grant.addResourceScope(indicator, granted.join(" "));
    const refused = scopes.filter((s) => !granted.includes(s));
    if (refused.length > 0) grant.rejectResourceScope(indicator, refused.join(" "));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, {
    mergeWithLastSubmission: true,
  });
}

/** Follows redirects with a cookie jar until one leads to a redirect URI of the client. */
async function followRedirects(start: URL, redirectUris: readonly string[]): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, {
      redirect: "manual",
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    const location = response.headers.get("location");
    const body = await response.text();
    if (location === null) {
      throw new Error(`The provider stopped at ${url} with ${response.status}: ${body}`);
    }
    url = new URL(location, url);
    if (redirectUris.some((uri) => url.href.startsWith(uri))) return url;
  }
  throw new Error("The provider redirected more than 20 times");
}

/** The authorization code flow with PKCE, as a minimal client does it. */
async function codeFlow(
  provider: OidcProvider,
  request: { scope: string; resource: string; issuer: string },
): Promise<TokenResponse> {
  const verifier = crypto.randomUUID() + crypto.randomUUID();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const authorize = new URL("/auth", request.issuer);
  authorize.search = new URLSearchParams({
    client_id: provider.clientId,
    response_type: "code",
    redirect_uri: provider.redirectUri,
    scope: request.scope,
    resource: request.resource,
    code_challenge: new Uint8Array(digest).toBase64({ alphabet: "base64url", omitPadding: true }),
    code_challenge_method: "S256",
    state: crypto.randomUUID(),
  }).toString();
  const back = await provider.signIn(authorize);
  const code = back.searchParams.get("code");
  if (code === null) throw new Error(`No code in the redirect: ${back}`);
  const response = await fetch(new URL("/token", request.issuer), {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: provider.clientId,
      code,
      redirect_uri: provider.redirectUri,
      code_verifier: verifier,
      resource: request.resource,
    }),
  });
  const tokens = await response.json();
  if (!response.ok) throw new Error(`Token request failed: ${JSON.stringify(tokens)}`);
  return tokens as TokenResponse;
}
