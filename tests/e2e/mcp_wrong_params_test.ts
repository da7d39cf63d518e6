/**
 * Standard MCP requests with params of the wrong type are the caller's mistake: `-32602` "Invalid
 * params" with one sentence naming the field and what it accepts — never `-32603` with the
 * schema library's issue dump (typescript-sdk#2284, worked around in src/mcp/params_guard.ts).
 * Both protocol eras (2026-07-28 and 2025-06-18), over Streamable HTTP (the real HTTP service in
 * this process) and over stdio (the real stdio server process), raw JSON-RPC.
 */
import assert from "node:assert/strict";
import { startInProcessService } from "./support/in_process.ts";
import { postMcp } from "./support/mcp_http.ts";
import { spawnRawStdio } from "./support/raw_stdio.ts";

type Loose = Record<string, unknown>;
type Answer = { id?: unknown; result?: Loose; error?: { code: number; message: string } };

/** Each request, and what its error message must name. */
const WRONG: readonly { method: string; params: Loose; names: RegExp }[] = [
  {
    method: "prompts/get",
    params: { name: "app_icon", arguments: { x: [1] } },
    names: /^Invalid params for prompts\/get: arguments\.x: expected string, received array$/,
  },
  {
    method: "resources/read",
    params: { uri: 5 },
    names: /^Invalid params for resources\/read: uri: expected string, received number$/,
  },
  {
    method: "resources/list",
    params: { cursor: 5 },
    names: /^Invalid params for resources\/list: cursor: expected string, received number$/,
  },
  {
    method: "completion/complete",
    params: { ref: 5, argument: { name: "id", value: "a" } },
    names:
      /^Invalid params for completion\/complete: ref: expected \{"type": "ref\/prompt".*"ref\/resource"/,
  },
];

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "wrong-params", version: "1.0.0" },
};

/** The request with id `id`, in the era's form (2026-07-28: the `_meta` envelope). */
function requestOf(id: number, method: string, params: Loose, modern: boolean) {
  return { jsonrpc: "2.0", id, method, params: modern ? { ...params, _meta: ENVELOPE } : params };
}

function assertRefused(answer: Answer | undefined, names: RegExp, where: string): void {
  assert.ok(answer?.error, `${where}: an error, not ${JSON.stringify(answer)}`);
  assert.equal(answer.error.code, -32602, `${where}: ${answer.error.message}`);
  assert.match(answer.error.message, names, where);
  assert.doesNotMatch(answer.error.message, /"code"|invalid_type|\n/, `${where}: no issue dump`);
}

Deno.test("[http] wrong param types answer -32602 naming the field, in both eras", async () => {
  await using service = await startInProcessService({ MCP_HTTP_SESSIONS: "stateless" });
  const auth = { Authorization: `Bearer ${service.keys.alice}` };
  for (const modern of [true, false]) {
    for (const [index, { method, params, names }] of WRONG.entries()) {
      // 2026-07-28 requests name their method (and a string name or uri) in headers too.
      const name = params.name ?? params.uri;
      const headers: Record<string, string> = modern
        ? {
          ...auth,
          "MCP-Protocol-Version": "2026-07-28",
          "Mcp-Method": method,
          ...(typeof name === "string" ? { "Mcp-Name": name } : {}),
        }
        : { ...auth, "MCP-Protocol-Version": "2025-06-18" };
      const response = await postMcp(
        service.url,
        requestOf(index + 1, method, params, modern),
        headers,
      );
      const text = await response.text();
      // A JSON answer, or one SSE event carrying it.
      const answer = JSON.parse(text.startsWith("{") ? text : text.split("data: ")[1]) as Answer;
      const where = `${modern ? "2026-07-28" : "2025-06-18"} ${method} (HTTP ${response.status})`;
      assertRefused(answer, names, where);
      assert.ok(response.status < 500, where);
    }
  }
});

Deno.test("[stdio] wrong param types answer -32602 naming the field, in both eras", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-wrong-params-" });
  try {
    for (const modern of [true, false]) {
      await using server = spawnRawStdio(dataDir, { OPENAI_API_KEY: "sk-test-wrong-0123456789" });
      if (!modern) await server.handshake();
      for (const [index, { method, params }] of WRONG.entries()) {
        await server.write(JSON.stringify(requestOf(index + 10, method, params, modern)));
      }
      await server.until(
        (all) => WRONG.every((_, index) => all.some((m) => m.id === index + 10)),
        "answers to every request",
      );
      const all = server.messages() as Answer[];
      for (const [index, { method, names }] of WRONG.entries()) {
        const where = `${modern ? "2026-07-28" : "2025-06-18"} ${method} (stdio)`;
        assertRefused(all.find((m) => m.id === index + 10), names, where);
      }
      assert.equal((await server.hangUp()).code, 0);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
