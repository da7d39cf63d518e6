/**
 * The bench's fast fake upstream, run as its own process so its CPU is its own:
 * `deno run -P=fake scripts/bench/upstream.ts [--latency-ms N] [--sizes 1024x1024,…]
 * [--tls-cert cert.pem --tls-key key.pem]`.
 *
 * Unlike the test fake (`tests/fake_openai.ts`, which renders every image, validates like OpenAI
 * and relays bytes through a TCP front), it answers every `POST /v1/images/generations` with the
 * same pre-encoded noise PNG of the requested size: as `b64_json` (the body assembled from cached
 * parts, no per-request encoding) or, for `response_format: "url"` (the predecessor's DALL·E
 * path), as an https link served from the same bytes. `GET /v1/models` answers for key checks and
 * `GET /_stats` counts generations and downloads. Prints one JSON line with its addresses.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { noisePng } from "./noise_png.ts";

/** What the upstream prints on its first stdout line. */
export interface UpstreamAddress {
  /** OpenAI base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  baseUrl: string;
  /** Base of the https file server, when TLS files were given. */
  filesUrl: string | null;
  /** Bytes of the PNG and of its base64 text, by size (`1024x1024`). */
  images: Record<string, { png: number; b64: number }>;
}

/** Counters at `GET /_stats`. */
export interface UpstreamStats {
  /** Generation requests received (answered or still waiting). */
  received: number;
  /** Generation requests answered with images. */
  generations: number;
  /** Image downloads served over https. */
  downloads: number;
}

interface Encoded {
  png: Uint8Array<ArrayBuffer>;
  b64: Uint8Array<ArrayBuffer>;
}

const encoder = new TextEncoder();
const DEFAULT_SIZE = "1024x1024";

/** Serves the fake upstream until killed. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      "latency-ms": { type: "string", default: "0" },
      sizes: { type: "string", default: DEFAULT_SIZE },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
    },
  });
  const latencyMs = Number(values["latency-ms"]);
  const images = new Map<string, Promise<Encoded>>();
  const imageOf = (size: string): Promise<Encoded> => {
    let found = images.get(size);
    if (found === undefined) {
      const [width, height] = size.split("x").map(Number);
      found = noisePng(width, height).then((png) => {
        const copy = new Uint8Array(png);
        return { png: copy, b64: encoder.encode(copy.toBase64()) };
      });
      images.set(size, found);
    }
    return found;
  };
  for (const size of values.sizes.split(",")) await imageOf(size);

  const stats: UpstreamStats = { received: 0, generations: 0, downloads: 0 };
  let filesUrl: string | null = null;

  async function generate(request: Request): Promise<Response> {
    stats.received++;
    const body = await request.json() as Record<string, unknown>;
    const size = /^\d+x\d+$/.test(String(body.size)) ? String(body.size) : DEFAULT_SIZE;
    const image = await imageOf(size);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    stats.generations++;
    const created = Math.floor(Date.now() / 1000);
    if (body.response_format === "url") {
      const url = `${filesUrl}/files/${size}/${stats.generations}.png`;
      return Response.json({ created, data: [{ url, revised_prompt: body.prompt }] });
    }
    const side = 1024 * 1024;
    const [w, h] = size.split("x").map(Number);
    const output = Math.round(272 * w * h / side);
    const usage = {
      input_tokens: 10,
      input_tokens_details: { text_tokens: 10, image_tokens: 0 },
      output_tokens: output,
      output_tokens_details: { image_tokens: output, text_tokens: 0 },
      total_tokens: 10 + output,
    };
    const tail = `"}],"background":"opaque","output_format":"png","quality":${
      JSON.stringify(body.quality ?? "auto")
    },"size":"${size}","usage":${JSON.stringify(usage)}}`;
    const blob = new Blob([`{"created":${created},"data":[{"b64_json":"`, image.b64, tail]);
    return new Response(blob, { headers: { "content-type": "application/json" } });
  }

  const api = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (request.method === "POST" && path === "/v1/images/generations") return generate(request);
    if (request.method === "GET" && path.startsWith("/v1/models")) {
      const data = ["gpt-image-2", "dall-e-3", "dall-e-2"].map((id) => ({
        id,
        object: "model",
        created: 1_745_000_000,
        owned_by: "system",
      }));
      return Response.json({ object: "list", data });
    }
    if (path === "/_stats") return Response.json(stats);
    return Response.json({ error: { message: `No route ${request.method} ${path}` } }, {
      status: 404,
    });
  });

  if (values["tls-cert"] && values["tls-key"]) {
    const files = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(values["tls-cert"]),
      key: await Deno.readTextFile(values["tls-key"]),
      onListen() {},
    }, async (request) => {
      const match = /^\/files\/(\d+x\d+)\/\d+\.png$/.exec(new URL(request.url).pathname);
      if (!match) return new Response("not found", { status: 404 });
      const image = await imageOf(match[1]);
      stats.downloads++;
      return new Response(image.png, { headers: { "content-type": "image/png" } });
    });
    filesUrl = `https://127.0.0.1:${files.addr.port}`;
  }
  const sizes: UpstreamAddress["images"] = {};
  for (const [size, image] of images) {
    const { png, b64 } = await image;
    sizes[size] = { png: png.length, b64: b64.length };
  }
  const address: UpstreamAddress = {
    baseUrl: `http://127.0.0.1:${api.addr.port}/v1`,
    filesUrl,
    images: sizes,
  };
  console.log(JSON.stringify(address));
}

if (import.meta.main) await main();
