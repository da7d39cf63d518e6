/**
 * End-to-end OAuth with Dynamic Client Registration on a fleet of two in-process instances that
 * share one KV file and one PUBLIC_BASE_URL, behind a small path-routing balancer: the MCP SDK
 * client's OAuth support discovers the server from a 401, registers, and is sent to the consent
 * page on instance 1 (fetched and posted as a browser would), then exchanges the code, calls
 * `generate_image` over `/mcp` and refreshes on instance 2, is revoked on instance 1 and refused
 * on instance 2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  auth,
  Client,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { createApiKey } from "../../src/auth/mod.ts";
import { systemClock } from "../../src/clock.ts";
import { resolveConfig } from "../../src/config.ts";
import { type HttpService, startHttpService } from "../../src/http_door.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { TEST_OPENAI_KEY } from "./support/http_server.ts";

const REDIRECT = "http://127.0.0.1:9/oauth/callback";

type Tokens = { access_token: string; refresh_token?: string; token_type: string };
type ClientInfo = { client_id: string };

/** An in-memory OAuth client provider: the browser redirect is recorded, not followed. */
class MemoryProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  client: ClientInfo | undefined;
  saved: Tokens | undefined;
  #verifier = "";
  #discovery: OAuthDiscoveryState | undefined;
  readonly redirectUrl = REDIRECT;
  readonly clientMetadata = {
    client_name: "OAuth e2e client",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  state() {
    return "state-e2e-1";
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: ClientInfo) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: Tokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery;
  }
}

/** One instance of the fleet, counting the paths it served. */
interface Instance {
  service: HttpService;
  kv: Deno.Kv;
  served: string[];
}

/**
 * Two instances on one KV file behind a balancer at PUBLIC_BASE_URL: `/oauth/token` and `/mcp` go
 * to instance 2, everything else (discovery, registration, consent, revocation) to instance 1.
 */
async function startFleet(fake: FakeOpenAI) {
  const dir = await Deno.makeTempDir({ prefix: "oauth-fleet-" });
  const kvPath = join(dir, "kv.sqlite3");
  const instances: Instance[] = [];
  const balancer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    const second = url.pathname === "/oauth/token" || url.pathname === "/mcp";
    const target = instances[second ? 1 : 0];
    target.served.push(`${request.method} ${url.pathname}`);
    const headers = new Headers(request.headers);
    headers.delete("host");
    return fetch(new URL(url.pathname + url.search, target.service.url), {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
      signal: request.signal,
    });
  });
  const base = `http://127.0.0.1:${balancer.addr.port}`;
  for (const name of ["one", "two"]) {
    const kv = await Deno.openKv(kvPath);
    const config = resolveConfig({
      env: {
        OPENAI_API_KEY: TEST_OPENAI_KEY,
        OPENAI_BASE_URL: fake.baseUrl,
        DATA_DIR: join(dir, name),
        KV_PATH: kvPath,
        IMAGE_STORE: "kv",
        PORT: "0",
        PUBLIC_BASE_URL: base,
        MCP_AUTH_TOKEN: "oauth-e2e-admin-token-0123456789",
        IMAGE_GENERATION_RATE_LIMIT: "1000",
        REQUEST_RATE_LIMIT: "0",
        LOG_LEVEL: "error",
      },
      dotenv: {},
      flags: {},
    });
    const service = await startHttpService(config, {
      services: { kv, skipStartupReconcile: true },
    });
    assert.ok(service, `instance ${name} started`);
    instances.push({ service, kv, served: [] });
  }
  const { key } = await createApiKey(instances[0].kv, {
    name: "alice",
    role: "user",
    now: systemClock,
  });
  return {
    base,
    key,
    instances,
    async [Symbol.asyncDispose]() {
      for (const instance of instances) {
        await instance.service.shutdown(2_000);
        instance.kv.close();
      }
      await balancer.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Cookies set by responses, sent back on the next request (a browser's cookie jar, minimal). */
class CookieJar {
  #cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      this.#cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

function field(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  assert.ok(match, `the consent form has a ${name} field`);
  return match[1];
}

/** Opens the consent page at `url` and submits it with `key`; returns the redirect's location. */
async function consent(url: URL, key: string): Promise<URL> {
  const jar = new CookieJar();
  const page = await fetch(url, { redirect: "manual" });
  jar.take(page);
  const html = await page.text();
  assert.equal(page.status, 200, html);
  assert.match(html, /OAuth e2e client/, "the page names the client");
  assert.match(html, /127\.0\.0\.1:9/, "the page names the redirect host");
  assert.match(html, /images:write/, "the page lists the scopes asked");
  const form = new URLSearchParams({
    _csrf: field(html, "_csrf"),
    request: field(html, "request"),
    key,
    decision: "approve",
  });
  const answer = await fetch(new URL("/oauth/authorize", url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
    body: form,
    redirect: "manual",
  });
  await answer.body?.cancel();
  assert.equal(answer.status, 303);
  return new URL(answer.headers.get("location")!);
}

function transportFor(base: string, provider: OAuthClientProvider) {
  return new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
}

async function generate(base: string, provider: OAuthClientProvider) {
  const client = new Client({ name: "oauth-e2e", version: "1.0.0" });
  await client.connect(transportFor(base, provider));
  try {
    return await client.callTool({ name: "generate_image", arguments: { prompt: "a red kite" } });
  } finally {
    await client.close();
  }
}

Deno.test({
  name: "an MCP client signs in with DCR on one instance, works on another, refreshes, is revoked",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using fake = await startFakeOpenAI();
    await using fleet = await startFleet(fake);
    const { base, instances } = fleet;
    const provider = new MemoryProvider();

    // The first connection meets a 401; the SDK discovers, registers and asks for consent.
    const first = new Client({ name: "oauth-e2e", version: "1.0.0" });
    await assert.rejects(first.connect(transportFor(base, provider)), UnauthorizedError);
    assert.ok(provider.client?.client_id.startsWith("dcr_"), "registered by DCR");
    const authorizationUrl = provider.authorizationUrl;
    assert.ok(authorizationUrl, "the SDK was sent to the authorization endpoint");
    assert.equal(authorizationUrl.searchParams.get("resource"), `${base}/mcp`);
    assert.equal(authorizationUrl.searchParams.get("code_challenge_method"), "S256");

    const callback = await consent(authorizationUrl, fleet.key);
    assert.equal(callback.origin + callback.pathname, REDIRECT);
    assert.equal(callback.searchParams.get("state"), "state-e2e-1");
    assert.equal(callback.searchParams.get("iss"), base, "RFC 9207 iss");

    // The code is exchanged on instance 2 (the SDK validates iss first).
    const transport = transportFor(base, provider);
    await transport.finishAuth(callback.searchParams);
    const firstTokens = provider.saved!;
    assert.ok(firstTokens.access_token.startsWith("oat_"));
    assert.ok(firstTokens.refresh_token);

    const result = await generate(base, provider) as { isError?: boolean; content: unknown[] };
    assert.notEqual(result.isError, true, JSON.stringify(result.content).slice(0, 500));
    assert.equal(fake.requests.length, 1, "one image generated upstream");

    // Refresh (rotation) through the SDK, on instance 2.
    assert.equal(await auth(provider, { serverUrl: `${base}/mcp` }), "AUTHORIZED");
    const refreshed = provider.saved!;
    assert.notEqual(refreshed.access_token, firstTokens.access_token);
    assert.notEqual(refreshed.refresh_token, firstTokens.refresh_token);
    assert.notEqual((await generate(base, provider) as { isError?: boolean }).isError, true);

    // Revoked on instance 1, refused on instance 2 with a challenge naming the metadata.
    const revoked = await fetch(`${base}/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: refreshed.refresh_token!,
        client_id: provider.client!.client_id,
      }),
    });
    await revoked.body?.cancel();
    assert.equal(revoked.status, 200);
    const refused = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${refreshed.access_token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
    const challenge = refused.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /error="invalid_token"/);
    assert.ok(
      challenge.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`),
      challenge,
    );

    const [one, two] = instances.map((i) => i.served);
    assert.ok(one.includes("GET /oauth/authorize") && one.includes("POST /oauth/register"));
    assert.ok(one.includes("POST /oauth/revoke"));
    assert.ok(two.includes("POST /oauth/token") && !one.includes("POST /oauth/token"));
  },
});
