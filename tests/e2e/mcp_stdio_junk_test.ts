/**
 * What the stdio server does with lines that are not JSON-RPC requests, and how quickly it goes
 * away when its client does: every junk line gets a JSON-RPC error with id null (or is ignored),
 * the next valid request is still answered, stdout holds only JSON-RPC, and closing stdin ends the
 * process within 5 s even while a generation is running.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { MAIN_MCP, ROOT } from "./support/mcp_client.ts";

const encoder = new TextEncoder();

/** Each junk line and the JSON-RPC error code it must get. */
const JUNK: readonly [string, number][] = [
  ["null", -32600],
  ["42", -32600],
  ['"str"', -32600],
  ["[]", -32600],
  ["{}", -32600],
  ["not json", -32700],
  ['{"jsonrpc":"2.0"}', -32600],
  ['{"jsonrpc":"2.0","id":{"nested":true},"method":"ping"}', -32600],
  ['{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600],
  ['{"jsonrpc":"1.0","id":9,"method":"ping"}', -32600],
  ['[{"jsonrpc":"2.0","id":9,"method":"ping"}]', -32600],
];

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "junk-test", version: "1" },
  },
};

/** Runs `work`, failing with `what` (and killing nothing) when it takes longer than `ms`. */
async function within<T>(ms: number, what: () => string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw stdio server: lines in, parsed stdout lines out; killed on dispose if still running. */
function spawnRaw(dataDir: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=mcp", "--config", `${ROOT}deno.json`, MAIN_MCP],
    cwd: dataDir,
    env: { DATA_DIR: dataDir, HOME: dataDir, LOG_LEVEL: "debug", NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let ended = false;
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const messages = () =>
    stdout.split("\n").filter((l) => l !== "").map((l) => {
      const message = JSON.parse(l);
      assert.equal(message.jsonrpc, "2.0", `stdout carries only JSON-RPC: ${l}`);
      return message as Record<string, unknown> & {
        id?: unknown;
        error?: { code: number; message: string };
      };
    });
  async function readSome(): Promise<void> {
    const { value, done } = await reader.read();
    if (done) ended = true;
    else stdout += value;
  }
  return {
    stderr,
    messages,
    write: (text: string) => writer.write(encoder.encode(`${text}\n`)),
    /** Reads stdout until `done(messages)` holds; fails after 20 s or when stdout ends first. */
    async until(done: (all: ReturnType<typeof messages>) => boolean, what: string) {
      await within(
        20_000,
        () => `No ${what}:\n${stdout}`,
        (async () => {
          while (!done(messages())) {
            if (ended) throw new Error(`No ${what} before stdout ended:\n${stdout}`);
            await readSome();
          }
        })(),
      );
    },
    /** Closes stdin; how long the process took to exit (failing after 10 s), and its exit code. */
    async hangUp() {
      const started = performance.now();
      await writer.close();
      const { code } = await within(
        10_000,
        () => "The server did not exit within 10 s of stdin closing",
        (async () => {
          while (!ended) await readSome();
          return await status;
        })(),
      );
      return { ms: performance.now() - started, code };
    },
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGKILL");
      await status;
      await reader.cancel().catch(() => {});
      await writer.close().catch(() => {});
      await stderr;
    },
  };
}

function nullIdErrors(
  all: readonly { id?: unknown; error?: { code: number; message: string } }[],
): number[] {
  return all.filter((m) => m.id === null && m.error).map((m) => m.error!.code);
}

Deno.test("stdio: junk lines before and after the handshake get JSON-RPC errors and the next request is answered", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-junk-" });
  try {
    await using server = spawnRaw(dataDir, { OPENAI_API_KEY: "sk-test-junk-0123456789" });
    // First lines of all, before the MCP SDK has loaded (the fast transport reads them).
    for (const [line] of JUNK) await server.write(line);
    await server.write(JSON.stringify(INITIALIZE));
    await server.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    await server.write(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }));
    await server.until((all) => all.some((m) => m.id === 2), "answer to the ping");
    assert.deepEqual(nullIdErrors(server.messages()), JUNK.map(([, code]) => code));
    // Again once the SDK is serving.
    for (const [line] of JUNK) await server.write(line);
    await server.write(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }));
    await server.until(
      (all) => all.some((m) => m.id === 3) && nullIdErrors(all).length === 2 * JUNK.length,
      "answer to tools/list after the second round of junk",
    );
    const all = server.messages();
    assert.deepEqual(nullIdErrors(all), [...JUNK, ...JUNK].map(([, code]) => code));
    const initialized = all.find((m) => m.id === 1) as { result?: { protocolVersion?: string } };
    assert.equal(initialized.result?.protocolVersion, "2025-06-18");
    const tools = all.find((m) => m.id === 3) as { result: { tools: { name: string }[] } };
    assert.ok(tools.result.tools.some((t) => t.name === "generate_image"));
    const errors = all.filter((m) => m.id === null);
    assert.ok(
      errors.every((m) => /^(Parse error|Invalid Request): \S/.test(m.error?.message ?? "")),
    );
    const { ms, code } = await server.hangUp();
    assert.equal(code, 0, await server.stderr);
    assert.ok(ms < 5_000, `exited ${Math.round(ms)} ms after stdin closed`);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("stdio: closing stdin while a generation runs ends the process within 5 s and cancels the generation", async () => {
  await using fake = await startFakeOpenAI();
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-hangup-" });
  const env = { OPENAI_API_KEY: "sk-test-hangup-0123456789", OPENAI_BASE_URL: fake.baseUrl };
  try {
    await using server = spawnRaw(dataDir, { ...env, MCP_LONG_JOB_SECONDS: "1" });
    await server.write(JSON.stringify(INITIALIZE));
    await server.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    await server.write(JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "generate_image", arguments: { prompt: "a slow boat [fault:hang]" } },
    }));
    await server.until((all) => all.some((m) => m.id === 2), "pending answer");
    const answer = server.messages().find((m) => m.id === 2) as {
      result: { content: { type: string; text?: string }[] };
    };
    const text = answer.result.content.map((b) => b.text ?? "").join("\n");
    const pendingId = text.match(/Pending image id: (\S+)/)?.[1];
    assert.ok(pendingId, text);
    const { ms, code } = await server.hangUp();
    assert.equal(code, 0, await server.stderr);
    assert.ok(ms < 5_000, `exited ${Math.round(ms)} ms after stdin closed`);

    // The next session on the same data sees the generation as cancelled, not pending forever.
    await using next = spawnRaw(dataDir, env);
    await next.write(JSON.stringify(INITIALIZE));
    await next.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    await next.write(JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "get_image", arguments: { id: pendingId, wait_seconds: 0 } },
    }));
    await next.until((all) => all.some((m) => m.id === 2), "answer to get_image");
    const got = next.messages().find((m) => m.id === 2) as {
      result: { isError?: boolean; content: { text?: string }[] };
    };
    assert.equal((await next.hangUp()).code, 0);
    assert.equal(got.result.isError, true);
    assert.match(
      got.result.content[0].text ?? "",
      /^Error \(cancelled\): The generation of image \S+ was cancelled/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
