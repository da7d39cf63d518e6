/**
 * The MCP SDK v2 client's OAuth support for tests: an in-memory `OAuthClientProvider` whose
 * "browser" is a function the test gives (follow the authorization URL, sign in and consent, and
 * return the redirect back to the client), {@link approveOnConsentPage}, such a function for this
 * service's own consent page, and {@link connectWithOAuth}, which runs the whole dance the way an
 * MCP host does — connect, get 401, discover, authorize, finish, reconnect.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  Client,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { galleryBrowser } from "./gallery_browser.ts";

/** Options of {@link TestOAuthClient}. */
export interface TestOAuthClientOptions {
  /** Where the authorization server sends the browser back. */
  redirectUrl: string;
  /**
   * A pre-registered client: its id, and the issuer it is registered at (SEP-2352 binds stored
   * credentials to their issuer). Without it the SDK registers one (DCR) or uses a URL id.
   */
  registered?: { clientId: string; issuer: string };
  /** A Client ID Metadata Document URL to identify the client by. */
  clientMetadataUrl?: string;
  /** Plays the user: opens the URL, signs in, consents; returns the redirect with `code`. */
  browse: (authorizationUrl: URL) => Promise<URL>;
}

/** An in-memory OAuth client as an MCP host keeps it: client info, tokens, PKCE verifier. */
export class TestOAuthClient implements OAuthClientProvider {
  #options: TestOAuthClientOptions;
  #client: StoredOAuthClientInformation | undefined;
  #tokens: StoredOAuthTokens | undefined;
  #verifier = "";
  #discovery: OAuthDiscoveryState | undefined;
  /** The redirect the browser came back with, waiting for `finishAuth`. */
  callback: URL | undefined;
  /** Every authorization URL the client opened. */
  readonly authorizations: URL[] = [];
  /** Every redirect the browser came back with. */
  readonly callbacks: URL[] = [];

  /** Creates the client; `registered` makes it a pre-registered one. */
  constructor(options: TestOAuthClientOptions) {
    this.#options = options;
    const { registered } = options;
    if (registered) this.#client = { client_id: registered.clientId, issuer: registered.issuer };
  }

  /** The redirect URI. */
  get redirectUrl(): string {
    return this.#options.redirectUrl;
  }

  /** The Client ID Metadata Document URL, if the client has one. */
  get clientMetadataUrl(): string | undefined {
    return this.#options.clientMetadataUrl;
  }

  /** The metadata a registration sends. */
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "oauth e2e client",
      redirect_uris: [this.#options.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  /** The client's registration, if any. */
  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#client;
  }

  /** Keeps a registration. */
  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.#client = info;
  }

  /** The tokens held. */
  tokens(): StoredOAuthTokens | undefined {
    return this.#tokens;
  }

  /** Keeps new tokens. */
  saveTokens(tokens: StoredOAuthTokens): void {
    this.#tokens = tokens;
  }

  /** Replaces the access token (to see a refresh, or a refused token), keeping the rest. */
  replaceAccessToken(accessToken: string): void {
    if (this.#tokens === undefined) throw new Error("No tokens to replace");
    this.#tokens = { ...this.#tokens, access_token: accessToken };
  }

  /** Sends the "browser" to the authorization URL and keeps where it came back to. */
  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    this.authorizations.push(authorizationUrl);
    this.callback = await this.#options.browse(authorizationUrl);
    this.callbacks.push(this.callback);
  }

  /** Keeps the PKCE verifier. */
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  /** The PKCE verifier. */
  codeVerifier(): string {
    return this.#verifier;
  }

  /** Keeps what discovery found, so the callback is checked against the same server. */
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  /** What discovery found. */
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  /** Forgets what the server said is no longer valid. */
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "tokens") this.#tokens = undefined;
    if (scope === "all" || scope === "client") this.#client = undefined;
    if (scope === "all" || scope === "discovery") this.#discovery = undefined;
  }
}

/** What this service's consent page must show for a client. */
export interface ConsentExpectations {
  /** The client's name, as it registered or published it. */
  clientName: string;
  /** The host of its redirect URI. */
  redirectHost: string;
}

/**
 * A `browse` function for {@link TestOAuthClient} that plays a person at this service's consent
 * page: opens it, checks that it names the client, its redirect host and the scopes asked, and
 * approves with `key` typed into the form. Returns the redirect back to the client.
 */
export function approveOnConsentPage(
  key: string,
  expect: ConsentExpectations,
): (authorizationUrl: URL) => Promise<URL> {
  return async (authorizationUrl) => {
    const browser = galleryBrowser(authorizationUrl.origin);
    const page = await browser.request(authorizationUrl.pathname + authorizationUrl.search);
    const html = await page.text();
    assert.equal(page.status, 200, html.slice(0, 2000));
    assert.ok(html.includes(expect.clientName), `the page names the client ${expect.clientName}`);
    assert.ok(html.includes(expect.redirectHost), `the page names ${expect.redirectHost}`);
    assert.match(html, /images:write/, "the page lists the scopes asked");
    const field = (name: string) => {
      const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
      assert.ok(match, `the consent form has a ${name} field`);
      return match[1];
    };
    const answer = await browser.post(authorizationUrl.pathname, {
      _csrf: field("_csrf"),
      request: field("request"),
      key,
      decision: "approve",
    });
    await answer.body?.cancel();
    assert.equal(answer.status, 303, "the consent was accepted");
    return new URL(answer.headers.get("location")!);
  };
}

/** A connected SDK v2 client over Streamable HTTP with OAuth. */
export interface OAuthSession extends AsyncDisposable {
  /** The SDK client. */
  readonly client: Client;
  /** Its transport. */
  readonly transport: StreamableHTTPClientTransport;
}

/**
 * Connects to `mcpUrl` as an MCP host does: the first attempt meets 401, the SDK discovers the
 * protected resource and its authorization server and sends the browser; the redirect is handed to
 * `finishAuth`, and a second connection goes through with the token.
 */
export async function connectWithOAuth(
  mcpUrl: string,
  provider: TestOAuthClient,
): Promise<OAuthSession> {
  const open = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
      authProvider: provider,
    });
    const client = new Client({ name: "oauth-e2e", version: "1.0.0" });
    await client.connect(transport);
    return { client, transport };
  };
  let session: { client: Client; transport: StreamableHTTPClientTransport };
  try {
    session = await open();
  } catch (error) {
    if (!(error instanceof UnauthorizedError) || provider.callback === undefined) throw error;
    const callback = provider.callback;
    provider.callback = undefined;
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
      authProvider: provider,
    });
    await transport.finishAuth(callback.searchParams);
    await transport.close();
    session = await open();
  }
  return {
    ...session,
    async [Symbol.asyncDispose]() {
      await session.client.close();
    },
  };
}

/**
 * Asserts that `/mcp` at `base` refuses `accessToken`: a 401 whose `WWW-Authenticate` is a Bearer
 * challenge with `error="invalid_token"` naming the resource metadata of `${base}/mcp`.
 */
export async function assertTokenRefused(base: string, accessToken: string): Promise<void> {
  const response = await fetch(`${base}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${accessToken}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });
  await response.body?.cancel();
  assert.equal(response.status, 401);
  const challenge = response.headers.get("www-authenticate") ?? "";
  assert.match(challenge, /^Bearer /);
  assert.match(challenge, /error="invalid_token"/);
  assert.ok(
    challenge.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`),
    challenge,
  );
}
