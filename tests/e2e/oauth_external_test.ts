/**
 * End-to-end, external authorization server (`OAUTH_ISSUER`): a real OpenID provider
 * (`oidc-provider` from npm, not one written here) on loopback issues the tokens, and the real
 * service process verifies them against its JWKS. The MCP SDK v2 client, with its own OAuth
 * support, meets 401 on `/mcp`, finds the provider through the service's protected resource
 * metadata, signs in and consents there, calls `generate_image` against the fake upstream, and
 * refreshes; a token the same provider issued for another resource is refused.
 */
import assert from "node:assert/strict";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { startOidcProvider } from "../support/oidc_provider.ts";
import { startHttpServer, TEST_OPENAI_KEY } from "./support/http_server.ts";
import { assertTokenRefused, connectWithOAuth, TestOAuthClient } from "./support/oauth_client.ts";

type Block = { type: string; text?: string };
type ToolResult = { content: Block[]; isError?: boolean };

/** A loopback port nothing listens on right now (the service needs its URL before it starts). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function startService(fake: FakeOpenAI, issuer: string, port: number) {
  return await startHttpServer({
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    OPENAI_MAX_RETRIES: "0",
    IMAGE_GENERATION_RATE_LIMIT: "1000",
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    OAUTH_ISSUER: issuer,
  });
}

Deno.test({
  name: "an MCP client signs in at an external OpenID provider and generates an image",
  // The SDK's Streamable HTTP transport leaves reconnection timers behind (see remote_mcp_test).
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const redirectUrl = "http://127.0.0.1/oauth/callback";
    await using fake = await startFakeOpenAI();
    await using provider = await startOidcProvider({
      resource: `${base}/mcp`,
      redirectUris: [redirectUrl],
    });
    provider.account = {
      sub: "carol",
      username: "Carol",
      grants: ["images:read", "images:write"],
    };
    await using server = await startService(fake, provider.issuer, port);
    assert.equal(server.url, base);

    await t.step("the resource metadata names the provider; no built-in endpoints", async () => {
      const metadata = await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`))
        .json();
      assert.equal(metadata.resource, `${base}/mcp`);
      assert.deepEqual(metadata.authorization_servers, [provider.issuer]);
      for (const path of ["/.well-known/oauth-authorization-server", "/oauth/token"]) {
        const response = await fetch(`${base}${path}`, { method: "GET" });
        await response.body?.cancel();
        assert.equal(response.status, 404, path);
      }
    });

    const oauth = new TestOAuthClient({
      redirectUrl,
      registered: { clientId: provider.clientId, issuer: provider.issuer },
      browse: (url) => provider.signIn(url),
    });

    await t.step("the client discovers, signs in, consents and calls generate_image", async () => {
      await using session = await connectWithOAuth(`${base}/mcp`, oauth);
      assert.equal(oauth.authorizations.length, 1);
      const authorization = oauth.authorizations[0];
      assert.equal(authorization.origin, provider.issuer);
      assert.equal(authorization.searchParams.get("resource"), `${base}/mcp`);
      assert.equal(authorization.searchParams.get("code_challenge_method"), "S256");
      const result = await session.client.callTool(
        { name: "generate_image", arguments: { prompt: "a lighthouse at dusk", quality: "low" } },
        { timeout: 60_000 },
      ) as ToolResult;
      assert.notEqual(result.isError, true, JSON.stringify(result.content));
      assert.ok(result.content.some((b) => b.type === "image"));
      // The image belongs to the provider's subject.
      const list = await session.client.callTool({
        name: "list_images",
        arguments: {},
      }) as ToolResult;
      assert.match(list.content.map((b) => b.text ?? "").join("\n"), /lighthouse/);
    });

    await t.step("a refused access token is refreshed and the call goes through", async () => {
      const before = oauth.tokens()!;
      assert.ok(before.refresh_token, "the provider issued a refresh token");
      oauth.replaceAccessToken("expired-or-revoked");
      await using session = await connectWithOAuth(`${base}/mcp`, oauth);
      const list = await session.client.callTool({ name: "list_images", arguments: {} });
      assert.notEqual((list as ToolResult).isError, true);
      const after = oauth.tokens()!;
      assert.notEqual(after.access_token, "expired-or-revoked");
      assert.notEqual(after.access_token, before.access_token);
      assert.equal(oauth.authorizations.length, 1, "no second sign-in: the refresh did it");
    });

    await t.step("the token's scopes limit what it may do", async () => {
      provider.account = { sub: "dave", username: "Dave", grants: ["images:read"] };
      const { access_token } = await provider.obtainTokens("images:read images:write");
      const headers = { authorization: `Bearer ${access_token}` };
      const list = await fetch(`${base}/v1/images`, { headers });
      await list.body?.cancel();
      assert.equal(list.status, 200);
      const generate = await fetch(`${base}/v1/images/generations`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "not allowed", quality: "low" }),
      });
      const body = await generate.text();
      assert.equal(generate.status, 403, body);
      assert.match(body, /images:write/);
    });

    await t.step("a token of the same provider for another resource is refused", async () => {
      const other = await provider.obtainTokens("images:read images:write", `${base}/other`);
      await assertTokenRefused(base, other.access_token);
    });
  },
});
