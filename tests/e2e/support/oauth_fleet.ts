/**
 * A fleet of two in-process instances of the service sharing one KV file and one
 * PUBLIC_BASE_URL behind a small path-routing balancer — `/oauth/token` and `/mcp` go to instance
 * 2, everything else (discovery, registration, consent, revocation) to instance 1 — and
 * {@link signInUseRefreshRevoke}, the whole OAuth life of an MCP client across it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { auth } from "@modelcontextprotocol/client";
import { createApiKey } from "../../../src/auth/mod.ts";
import { systemClock } from "../../../src/clock.ts";
import { resolveConfig } from "../../../src/config.ts";
import { type HttpService, startHttpService } from "../../../src/http_door.ts";
import type { ClientMetadataResolver } from "../../../src/oauth/mod.ts";
import type { FakeOpenAI } from "../../fake_openai.ts";
import { TEST_OPENAI_KEY } from "./http_server.ts";
import { assertTokenRefused, connectWithOAuth, type TestOAuthClient } from "./oauth_client.ts";

/** One instance of the fleet, with the requests it served (`METHOD /path`). */
export interface FleetInstance {
  /** The running service. */
  readonly service: HttpService;
  /** Its handle on the shared KV file. */
  readonly kv: Deno.Kv;
  /** What it served, e.g. `POST /oauth/token`. */
  readonly served: string[];
}

/** The running fleet. */
export interface OAuthFleet extends AsyncDisposable {
  /** PUBLIC_BASE_URL: the balancer. */
  readonly base: string;
  /** An API key of alice (a user), to consent with. */
  readonly key: string;
  /** Instance 1 and instance 2. */
  readonly instances: readonly [FleetInstance, FleetInstance];
}

/** Options of {@link startOAuthFleet}. */
export interface OAuthFleetOptions {
  /** Makes each instance's own Client ID Metadata Document resolver (default: the service's). */
  clientMetadataResolver?: () => ClientMetadataResolver;
}

/** Starts two instances on one KV file against `fake`, behind a balancer at PUBLIC_BASE_URL. */
export async function startOAuthFleet(
  fake: FakeOpenAI,
  options: OAuthFleetOptions = {},
): Promise<OAuthFleet> {
  const dir = await Deno.makeTempDir({ prefix: "oauth-fleet-" });
  const kvPath = join(dir, "kv.sqlite3");
  const instances: FleetInstance[] = [];
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
      ...(options.clientMetadataResolver
        ? { resolveClientMetadata: options.clientMetadataResolver() }
        : {}),
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
    instances: [instances[0], instances[1]],
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

type ToolResult = { isError?: boolean; content: unknown[] };

/** Calls `generate_image` as `client` (connecting, and signing in first if it has no token). */
async function generate(base: string, client: TestOAuthClient): Promise<ToolResult> {
  await using session = await connectWithOAuth(`${base}/mcp`, client);
  return await session.client.callTool({
    name: "generate_image",
    arguments: { prompt: "a red kite" },
  }) as ToolResult;
}

/**
 * The whole OAuth life of `client` across `fleet`, asserted step by step: the SDK meets 401,
 * discovers, sends the browser to the consent page on instance 1 (the client's `browse`), checks
 * `iss` (RFC 9207), exchanges the code and calls `generate_image` on instance 2; refreshes there
 * (rotation); its refresh token is revoked on instance 1 and its access token refused on
 * instance 2 with a challenge naming the resource metadata.
 */
export async function signInUseRefreshRevoke(
  fleet: OAuthFleet,
  fake: FakeOpenAI,
  client: TestOAuthClient,
): Promise<void> {
  const { base } = fleet;
  const result = await generate(base, client);
  assert.notEqual(result.isError, true, JSON.stringify(result.content).slice(0, 500));
  assert.equal(fake.requests.length, 1, "one image generated upstream");
  assert.equal(client.authorizations.length, 1, "one sign-in");
  const authorization = client.authorizations[0];
  assert.equal(authorization.origin + authorization.pathname, `${base}/oauth/authorize`);
  assert.equal(authorization.searchParams.get("resource"), `${base}/mcp`);
  assert.equal(authorization.searchParams.get("code_challenge_method"), "S256");
  assert.equal(client.callbacks[0].searchParams.get("iss"), base, "RFC 9207 iss");
  const first = client.tokens()!;
  assert.ok(first.access_token.startsWith("oat_"));
  assert.ok(first.refresh_token, "a refresh token was issued");

  // Refresh (rotation) through the SDK, on instance 2.
  assert.equal(await auth(client, { serverUrl: `${base}/mcp` }), "AUTHORIZED");
  const refreshed = client.tokens()!;
  assert.notEqual(refreshed.access_token, first.access_token);
  assert.notEqual(refreshed.refresh_token, first.refresh_token);
  assert.notEqual((await generate(base, client)).isError, true);
  assert.equal(client.authorizations.length, 1, "no second sign-in");

  // Revoked on instance 1, refused on instance 2 with a challenge naming the metadata.
  const revoked = await fetch(`${base}/oauth/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      token: refreshed.refresh_token!,
      client_id: client.clientInformation()!.client_id,
    }),
  });
  await revoked.body?.cancel();
  assert.equal(revoked.status, 200);
  await assertTokenRefused(base, refreshed.access_token);

  const [one, two] = fleet.instances.map((i) => i.served);
  assert.ok(one.includes("GET /oauth/authorize") && one.includes("POST /oauth/authorize"));
  assert.ok(one.includes("POST /oauth/revoke"));
  assert.ok(two.includes("POST /oauth/token") && !one.includes("POST /oauth/token"));
  assert.ok(two.includes("POST /mcp") && !one.includes("POST /mcp"));
}
