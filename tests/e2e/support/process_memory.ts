/**
 * Memory of a service process and raw requests to it, for end-to-end memory ceilings: resident
 * sizes from /proc/<pid>/status (Linux), and requests whose body is written only until the
 * service answers, as a client uploading a large body would see it.
 *
 * @module
 */
import assert from "node:assert/strict";

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
export async function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await run("cat", [`/proc/${pid}/status`]);
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  assert.ok(match, `${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Resets the peak resident size of `pid` to its current one (Linux `clear_refs`, value 5). */
export async function resetPeak(pid: number): Promise<void> {
  await run("sh", ["-c", 'printf 5 > "/proc/$1/clear_refs"', "sh", String(pid)]);
}

/**
 * Sends `head` (request line and headers, ending in a blank line) and then `body`'s pieces over a
 * raw connection to `base`, stopping when the service answers or closes; returns the status code
 * and how many body bytes were written before the answer.
 */
export async function sendUntilAnswered(
  base: string,
  head: string,
  body: Iterable<Uint8Array>,
): Promise<{ status: number; written: number }> {
  const url = new URL(base);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
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
  let written = 0;
  const writeAll = async (bytes: Uint8Array) => {
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
  };
  try {
    await writeAll(new TextEncoder().encode(head));
    for (const piece of body) {
      if (answered) break;
      await writeAll(piece);
      written += piece.length;
    }
  } catch {
    // The service may close the connection once it has answered: the answer is what counts.
  }
  const statusLine = await reading;
  conn.close();
  const code = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1];
  assert.ok(code, `a status line, got ${JSON.stringify(statusLine)}`);
  return { status: Number(code), written };
}
