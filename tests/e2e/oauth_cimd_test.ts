/**
 * End-to-end OAuth with a Client ID Metadata Document on a fleet of two in-process instances that
 * share one KV file: the client's id is the https URL of its metadata document, served over local
 * TLS (a throwaway CA and a test-only resolver handed to the service — the private-address refusal
 * stays on everywhere else). The MCP SDK client's own support for client metadata URLs meets 401,
 * discovers that the server accepts such ids, skips registration and is sent to the consent page
 * on instance 1, which shows the document's name and redirect host; the code is exchanged, and
 * `generate_image` called and refreshed, on instance 2; it is revoked and refused after.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { testClientMetadataResolver } from "../support/client_metadata.ts";
import { makeLocalTls, serveLocalTls } from "../support/local_tls.ts";
import { approveOnConsentPage, TestOAuthClient } from "./support/oauth_client.ts";
import { signInUseRefreshRevoke, startOAuthFleet } from "./support/oauth_fleet.ts";

const REDIRECT = "http://127.0.0.1:9/oauth/callback";
const DOCUMENT_PATH = "/oauth/sketchbook-client.json";

Deno.test({
  name:
    "an MCP client identified by a metadata document signs in on one instance, works on another, refreshes, is revoked",
  // The SDK's Streamable HTTP transport leaves reconnection timers behind (see remote_mcp_test).
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const tls = await makeLocalTls();
    const fetched: string[] = [];
    await using site = serveLocalTls(tls, (request) => {
      const path = new URL(request.url).pathname;
      fetched.push(path);
      if (path !== DOCUMENT_PATH) return new Response("not found", { status: 404 });
      return Response.json({
        client_id: `${site.origin}${DOCUMENT_PATH}`,
        client_name: "Sketchbook",
        client_uri: "https://client.example.test/",
        redirect_uris: [REDIRECT],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      });
    });
    const clientId = `${site.origin}${DOCUMENT_PATH}`;
    await using fake = await startFakeOpenAI();
    await using fleet = await startOAuthFleet(fake, {
      clientMetadataResolver: () => testClientMetadataResolver(tls, { allowLoopback: true }),
    });
    const metadata = await (await fetch(`${fleet.base}/.well-known/oauth-authorization-server`))
      .json();
    assert.equal(metadata.client_id_metadata_document_supported, true);
    const client = new TestOAuthClient({
      redirectUrl: REDIRECT,
      clientMetadataUrl: clientId,
      browse: approveOnConsentPage(fleet.key, {
        clientName: "Sketchbook",
        redirectHost: "127.0.0.1:9",
      }),
    });

    await signInUseRefreshRevoke(fleet, fake, client);

    assert.equal(client.clientInformation()?.client_id, clientId, "the URL is the client id");
    assert.equal(client.authorizations[0].searchParams.get("client_id"), clientId);
    for (const instance of fleet.instances) {
      assert.ok(!instance.served.includes("POST /oauth/register"), "no registration");
    }
    assert.deepEqual(
      fetched,
      [DOCUMENT_PATH, DOCUMENT_PATH],
      "each instance fetched the document once (authorize on 1, token on 2) and then used its cache",
    );
  },
});
