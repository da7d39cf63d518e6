/**
 * The work any gateway that stores what it receives cannot skip, and nothing else: a bare
 * `Deno.serve` that takes the predecessor's REST request (`POST /mcp`), asks the upstream for the
 * image, decodes its base64 straight into a temporary file with this service's own decoder and
 * staged writer (SHA-256 while writing), fsyncs the file, renames it into place, fsyncs the folder
 * and answers a small JSON. No auth, no limits, no KV, no catalog, no logging.
 *
 * Its throughput next to the fake alone's is the ceiling any such gateway reaches with this
 * upstream, client and machine: the bench's baseline for this service's own figure.
 *
 * Run: `deno run -P=test scripts/bench/minimal_gateway.ts <upstream base URL> <folder>`; prints
 * `listening on <url>` on stdout.
 *
 * @module
 */
import { join } from "node:path";
import { decodeImagesResponse } from "../../src/generation/response_stream.ts";
import { StagedFile } from "../../src/images/staged_file.ts";

const [upstream, folder] = Deno.args;
if (!upstream || !folder) {
  console.error("usage: minimal_gateway.ts <upstream base URL> <folder>");
  Deno.exit(2);
}

async function save(prompt: string, size: string, id: string): Promise<string> {
  const response = await fetch(`${upstream}/images/generations`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: "Bearer sk-bench-0123456789abcdef",
    },
    body: JSON.stringify({ model: "gpt-image-2", prompt, size, quality: "low" }),
  });
  if (!response.ok || response.body === null) throw new Error(`upstream ${response.status}`);
  const temporary = join(folder, `.${id}.tmp`);
  const file = await Deno.open(temporary, { write: true, createNew: true });
  try {
    const staged = new StagedFile(file);
    await decodeImagesResponse(response.body, {
      sizeHint: Number(response.headers.get("content-length") ?? 0) || undefined,
      maxImages: 1,
      sinkFor: () => staged,
    });
    await staged.finish();
  } finally {
    file.close();
  }
  const name = `${id}.png`;
  await Deno.rename(temporary, join(folder, name));
  const dir = await Deno.open(folder, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
  return name;
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  if (req.method !== "POST" || new URL(req.url).pathname !== "/mcp") {
    return new Response("not found", { status: 404 });
  }
  const body = await req.json() as { prompt?: string; size?: string };
  const name = await save(String(body.prompt), String(body.size), crypto.randomUUID());
  return Response.json({ success: true, data: { filePath: join(folder, name) } });
});
// Stopped with SIGTERM: finish what is in flight and exit normally (a `--cpu-prof` is written then).
Deno.addSignalListener("SIGTERM", () => server.shutdown());
console.log(`listening on http://127.0.0.1:${server.addr.port}`);
await server.finished;
Deno.exit(0);
