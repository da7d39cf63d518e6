/**
 * A Host header that names no valid host (two ports, a port past 65535, an unclosed IPv6 bracket,
 * a space) is the client's mistake: 400 naming the header, on every route — never a 500. Deno
 * builds the request's URL from that header, so it cannot be parsed. The real HTTP service in this
 * process, raw HTTP/1.1 on a real socket (fetch would not send such a header).
 */
import assert from "node:assert/strict";
import { startInProcessService } from "./support/in_process.ts";
import { raw, statusOf } from "./support/raw_http.ts";

const BAD_HOSTS = ["localhost:3000:1", "127.0.0.1:99999", "[::1", "local host", "%"];

Deno.test("a Host header that is no host is a 400 naming it, never a 500", async () => {
  await using service = await startInProcessService({ MCP_HTTP_SESSIONS: "stateless" });
  for (const host of BAD_HOSTS) {
    for (const path of ["/", "/health", "/mcp"]) {
      const answer = await raw(
        service,
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(statusOf(answer), 400, `Host ${JSON.stringify(host)} on ${path}: ${answer}`);
      assert.match(answer, /Host header/, "the answer names the header");
      assert.doesNotMatch(answer, /Internal error/);
    }
  }
});
