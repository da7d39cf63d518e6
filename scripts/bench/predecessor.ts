/**
 * The predecessor (an installed checkout of `collactivelabs/openai-image-gen-mcp` named by
 * `PREDECESSOR_DIR`) as a bench target: its Express server's `POST /mcp` with `save:true` (its
 * DALL·E URL path: the upstream answers a link, the predecessor downloads it over https into
 * `OUTPUT_DIR`), and the command of its stdio server. Its OpenAI v4 client is pointed at the fake
 * with `OPENAI_BASE_URL` and trusts the fake's certificate through `NODE_EXTRA_CA_CERTS`; its
 * hard-coded rate limits are raised by the `predecessor_limits.cjs` preload, not by editing it.
 *
 * @module
 */
import { join } from "node:path";
import { AnswerMeter, countImageFiles, GATEWAY_SIZE, type GatewayTarget } from "./gateway.ts";
import { postJson } from "./load.ts";
import type { UpstreamProcess } from "./upstream_process.ts";

/** The preload that raises the predecessor's express-rate-limit allowances. */
export const LIMITS_PRELOAD = new URL("./predecessor_limits.cjs", import.meta.url).pathname;

const TOKEN = "bench-token-0123456789abcdef";

/** Entry files of the predecessor, from its package.json. */
export interface PredecessorEntries {
  /** Its HTTP server (`npm run start:http`). */
  http: string;
  /** Its stdio MCP server (`main`). */
  stdio: string;
}

/** Reads the entry files of the checkout at `dir`. */
export async function predecessorEntries(dir: string): Promise<PredecessorEntries> {
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "package.json"))) as {
    main?: string;
    scripts?: Record<string, string>;
  };
  const http = /^node\s+(\S+)$/.exec(manifest.scripts?.["start:http"] ?? "")?.[1];
  if (!http || !manifest.main) {
    throw new Error(
      `Cannot run the predecessor: ${dir}/package.json names no "main" or "start:http" script`,
    );
  }
  return { http: join(dir, http), stdio: join(dir, manifest.main) };
}

/** Environment the predecessor runs with, pointed at `upstream`. */
export function predecessorEnv(upstream: UpstreamProcess, home: string): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: home,
    NODE_ENV: "production",
    OPENAI_API_KEY: "sk-bench-0123456789abcdef",
    OPENAI_BASE_URL: upstream.baseUrl,
    ...(upstream.certFile ? { NODE_EXTRA_CA_CERTS: upstream.certFile } : {}),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts the predecessor's HTTP server from checkout `dir`, pointed at `upstream`. */
export async function predecessorService(
  dir: string,
  upstream: UpstreamProcess,
): Promise<GatewayTarget> {
  const entries = await predecessorEntries(dir);
  const home = await Deno.makeTempDir({ prefix: "bench-predecessor-" });
  const outputDir = join(home, "images");
  const port = freePort();
  const child = new Deno.Command("node", {
    args: ["--require", LIMITS_PRELOAD, entries.http],
    cwd: home,
    clearEnv: true,
    env: {
      ...predecessorEnv(upstream, home),
      PORT: String(port),
      OUTPUT_DIR: outputDir,
      MCP_AUTH_TOKEN: TOKEN,
      IMAGE_GENERATION_RATE_LIMIT: "1000000000",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const pumps = [child.stdout, child.stderr].map(async (stream) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      log = (log + text).slice(-20_000);
    }
  });
  let exited = false;
  const status = child.status.finally(() => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 30_000;
  for (;;) {
    const healthy = await fetch(`${url}/health`).then((r) => r.body?.cancel().then(() => r.ok))
      .catch(() => false);
    if (healthy) break;
    if (exited || performance.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await status;
      throw new Error(`The predecessor did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const meter = new AnswerMeter();
  return {
    name: "the predecessor",
    pid: child.pid,
    answerBytes: meter.total,
    async send(i) {
      const response = await postJson(`${url}/mcp`, {
        prompt: `bench image ${i}`,
        model: "dall-e-3",
        size: GATEWAY_SIZE,
        save: true,
      }, { authorization: `Bearer ${TOKEN}` });
      return await meter.rest(response);
    },
    async stored() {
      return { records: null, files: await countImageFiles(outputDir) };
    },
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGTERM");
      await status;
      await Promise.all(pumps);
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}
