/**
 * End-to-end OAuth with Dynamic Client Registration on a fleet of two in-process instances that
 * share one KV file and one PUBLIC_BASE_URL, behind a small path-routing balancer: the MCP SDK
 * client's OAuth support discovers the server from a 401, registers, and is sent to the consent
 * page on instance 1 (fetched and posted as a browser would), then exchanges the code, calls
 * `generate_image` over `/mcp` and refreshes on instance 2, is revoked on instance 1 and refused
 * on instance 2.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { approveOnConsentPage, TestOAuthClient } from "./support/oauth_client.ts";
import { signInUseRefreshRevoke, startOAuthFleet } from "./support/oauth_fleet.ts";

const REDIRECT = "http://127.0.0.1:9/oauth/callback";

Deno.test({
  name: "an MCP client signs in with DCR on one instance, works on another, refreshes, is revoked",
  // The SDK's Streamable HTTP transport leaves reconnection timers behind (see remote_mcp_test).
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using fake = await startFakeOpenAI();
    await using fleet = await startOAuthFleet(fake);
    const client = new TestOAuthClient({
      redirectUrl: REDIRECT,
      browse: approveOnConsentPage(fleet.key, {
        clientName: "oauth e2e client",
        redirectHost: "127.0.0.1:9",
      }),
    });

    await signInUseRefreshRevoke(fleet, fake, client);

    assert.ok(client.clientInformation()?.client_id.startsWith("dcr_"), "registered by DCR");
    assert.ok(fleet.instances[0].served.includes("POST /oauth/register"));
  },
});
