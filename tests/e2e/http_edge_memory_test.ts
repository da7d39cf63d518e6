/**
 * End-to-end: an unbounded chunked body costs the service its limit at most. A real service
 * process on a real socket is sent 150 MB in `Transfer-Encoding: chunked` (no declared length) on
 * several routes — the sign-in form, `/mcp`, `/v1/images/edits` (the upload route, the largest
 * limit), `/admin/images/cleanup` and a path no route serves — and must answer 413 each time while
 * its peak resident memory (`VmHWM` in /proc/<pid>/status, reset before each request through
 * `clear_refs`) grows by less than 100 MB.
 */
import assert from "node:assert/strict";
import { spawnHttpService } from "./support/http_server.ts";

const MB = 1024 * 1024;
const BODY_BYTES = 150 * MB;
const CHUNK = new Uint8Array(256 * 1024).fill(0x61);

/** Runs `command` with `args`; its standard output. */
async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stderr: "inherit" }).output();
  assert.ok(output.success, `${command} ${args.join(" ")}`);
  return new TextDecoder().decode(output.stdout);
}

/**
 * A size line of /proc/<pid>/status, in bytes. Read by `cat`: Deno's permissions let only
 * `--allow-all` read /proc itself.
 */
async function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await run("cat", [`/proc/${pid}/status`]);
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  assert.ok(match, `${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Resets the peak resident size of `pid` to its current one (Linux `clear_refs`, value 5). */
async function resetPeak(pid: number): Promise<void> {
  await run("sh", ["-c", 'printf 5 > "/proc/$1/clear_refs"', "sh", String(pid)]);
}

/**
 * Sends `POST path` with a chunked body of `total` bytes over a raw connection, stopping when the
 * service answers or closes; returns the status line's code.
 */
async function postChunked(
  base: string,
  path: string,
  contentType: string,
  total: number,
): Promise<number> {
  const url = new URL(base);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const encoder = new TextEncoder();
  let answered = false;
  const reading = (async () => {
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    answered = true;
    return text;
  })();
  const writeAll = async (bytes: Uint8Array) => {
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
  };
  try {
    await writeAll(encoder.encode(
      `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: ${contentType}\r\n` +
        "Transfer-Encoding: chunked\r\n\r\n",
    ));
    const head = encoder.encode(`${CHUNK.length.toString(16)}\r\n`);
    const tail = encoder.encode("\r\n");
    for (let sent = 0; sent < total && !answered; sent += CHUNK.length) {
      await writeAll(head);
      await writeAll(CHUNK);
      await writeAll(tail);
    }
    if (!answered) await writeAll(encoder.encode("0\r\n\r\n"));
  } catch {
    // The service may close the connection once it has answered: the answer is what counts.
  }
  const statusLine = await reading;
  conn.close();
  const code = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1];
  assert.ok(code, `a status line for POST ${path}, got ${JSON.stringify(statusLine)}`);
  return Number(code);
}

Deno.test({
  name: "a 150 MB chunked body gets 413 on every route and grows the service's memory < 100 MB",
  // Reading /proc is Linux only.
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = await spawnHttpService({ OPENAI_API_KEY: "sk-test-memory" });
    const routes = [
      ["/login", "application/x-www-form-urlencoded"],
      ["/mcp", "application/json"],
      ["/v1/images/edits", "multipart/form-data; boundary=x"],
      ["/admin/images/cleanup", "application/json"],
      ["/no/such/route", "application/json"],
    ] as const;
    for (const [path, type] of routes) {
      // Warm the route up first, so that code loaded on first use is not counted as growth.
      await postChunked(server.url, path, type, 2 * MB);
      await resetPeak(server.pid);
      const before = await statusBytes(server.pid, "VmRSS");
      const status = await postChunked(server.url, path, type, BODY_BYTES);
      const peak = await statusBytes(server.pid, "VmHWM");
      const growth = peak - before;
      assert.equal(status, 413, `POST ${path} with a 150 MB chunked body`);
      assert.ok(
        growth < 100 * MB,
        `POST ${path}: resident memory grew by ${(growth / MB).toFixed(1)} MB`,
      );
    }
  },
});
