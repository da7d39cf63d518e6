/**
 * The fast stdio transport on its own (no SDK connected): it answers `initialize` early only when
 * that is the connection's opening message. After any other message the SDK decides the era — a
 * 2026-07-28 request pins the modern era, whose answer to a later `initialize` is an error — so an
 * early answer there would give the client two answers to one id.
 */
import assert from "node:assert/strict";
import { FastStdioTransport } from "../../src/mcp/fast_stdio.ts";
import { initializeLine } from "../e2e/support/initialize.ts";

type Message = Record<string, unknown>;

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** What the transport writes for `lines` before any SDK connects (it reads them to the end). */
async function earlyAnswers(lines: string[]): Promise<Message[]> {
  const written: Message[] = [];
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(lines.map((line) => `${line}\n`).join("")));
      controller.close();
    },
  });
  const transport = new FastStdioTransport({
    input,
    write: (bytes) => {
      written.push(JSON.parse(new TextDecoder().decode(bytes)));
      return Promise.resolve();
    },
  });
  transport.listen();
  await transport.closed;
  return written;
}

Deno.test("fast stdio: an opening initialize is answered before the SDK is there", async () => {
  const written = await earlyAnswers(["not json", initializeLine("fast-stdio-test")]);
  assert.deepEqual(written.map((message) => message.id), [null, 1]);
  assert.ok("result" in written[1], "the initialize answer is a result");
});

Deno.test("fast stdio: an initialize after a 2026-07-28 request is left to the SDK", async () => {
  const written = await earlyAnswers([
    JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list", params: { _meta: ENVELOPE } }),
    initializeLine("fast-stdio-test"),
  ]);
  assert.deepEqual(written, [], "nothing is answered before the SDK has chosen the era");
});

Deno.test("fast stdio: a second initialize is left to the SDK", async () => {
  const second = JSON.parse(initializeLine("fast-stdio-test"));
  const written = await earlyAnswers([
    initializeLine("fast-stdio-test"),
    JSON.stringify({ ...second, id: 2 }),
  ]);
  assert.deepEqual(written.map((message) => message.id), [1]);
});
