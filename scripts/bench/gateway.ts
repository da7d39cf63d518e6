/**
 * Gateway throughput: the same load client against the fake upstream alone, this service and,
 * when installed, the predecessor, both through the predecessor's REST request (`POST /mcp` with
 * `{ prompt, save: true }`), plus an informative row for this service's MCP door (`tools/call
 * generate_image`, whose answer also carries a JPEG preview); with the server's CPU per image, the
 * load client's CPU and bytes read per answer, and a count of images lost.
 *
 * @module
 */
import { join } from "node:path";
import { type HttpServerProcess, spawnHttpService } from "../../tests/e2e/support/http_server.ts";
import {
  evenShares,
  type LoadRun,
  mergeLoadRuns,
  postJson,
  runLoad,
  type SendOne,
} from "./load.ts";
import { cpuSeconds } from "./process_cpu.ts";
import type { UpstreamProcess } from "./upstream_process.ts";

/** Something the load client can drive. */
export interface GatewayTarget extends AsyncDisposable {
  /** Row name, e.g. `this service`. */
  readonly name: string;
  /** Process whose CPU is charged to the target. */
  readonly pid: number;
  /** Sends request `i`. */
  readonly send: SendOne;
  /** Bytes of answer bodies the load client has read so far. */
  readonly answerBytes: () => number;
  /** Images the target kept: catalog records and files on disk (null where it has none). */
  stored(): Promise<{ records: number | null; files: number | null }>;
}

/** One target's figures. */
export interface GatewayFigures {
  /** Row name. */
  name: string;
  /** The timed turns, summed (requests answered; without the `sync` that ends each turn). */
  run: LoadRun;
  /** Seconds of the `sync` that ended each turn, summed: the turn's writes reaching the disk. */
  flushSeconds: number;
  /** Images answered and on disk per second: successes over the turns' time with their `sync`. */
  storedRps: number;
  /** CPU of the target's process per successful image, ms (null without /proc). */
  cpuMsPerImage: number | null;
  /** CPU of the upstream per successful image in the same run, ms. */
  upstreamCpuMsPerImage: number | null;
  /** CPU of the load client (this process) per successful image in the same run, ms. */
  clientCpuMsPerImage: number | null;
  /** Mean bytes of answer body the load client read per request of the timed run. */
  answerBytes: number;
  /** Successful answers, warm-up included. */
  okAnswers: number;
  /** Catalog records after the run (null where the target keeps none). */
  records: number | null;
  /** Image files on disk after the run (null where the target keeps none). */
  files: number | null;
  /** Failed requests plus successful answers without a record or file (null for the fake). */
  lost: number | null;
}

/** Size of the images every target asks for. */
export const GATEWAY_SIZE = "1024x1024";

/** Options of {@link measureGateways}. */
export interface GatewayOptions {
  /** Timed requests per target, over all rounds. */
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Untimed requests per target before the first round. */
  warmup: number;
  /** Turns per target: the timed requests are split into this many, interleaved across targets. */
  rounds: number;
}

/**
 * Warms every target up, then measures them in `rounds` interleaved turns (round r starts at
 * target r, so each target runs first, last and between the others as often as the rest), each
 * turn started after `beforeTurn` and ended by `afterTurn` (timed apart: a `sync`, so that a turn
 * pays for its own writes reaching the disk and no other turn does): a machine that drifts during the run (a
 * shared VM's CPU and disk do) drifts under every target alike, so the ratios between rows hold.
 * Each target's turns are summed into one row.
 */
export async function measureGateways(
  targets: readonly GatewayTarget[],
  upstream: UpstreamProcess,
  options: GatewayOptions,
  hooks: {
    beforeTurn?: () => Promise<void>;
    afterTurn?: () => Promise<void>;
    log?: (message: string) => void;
  } = {},
): Promise<GatewayFigures[]> {
  const shares = evenShares(options.requests, options.rounds);
  const turns = targets.map(() => ({
    runs: [] as LoadRun[],
    cpu: [0, 0, 0],
    sent: 0,
    bytes: 0,
    flushSeconds: 0,
  }));
  const warm: LoadRun[] = [];
  for (const target of targets) {
    warm.push(
      await runLoad(target.send, { requests: options.warmup, concurrency: options.concurrency }),
    );
  }
  for (const [round, share] of shares.entries()) {
    if (share === 0) continue;
    hooks.log?.(`gateway round ${round + 1} of ${shares.length}: ${share} requests per target`);
    for (let k = 0; k < targets.length; k++) {
      const index = (round + k) % targets.length;
      const [target, turn] = [targets[index], turns[index]];
      await hooks.beforeTurn?.();
      const pids = [target.pid, upstream.pid, Deno.pid];
      const before = await Promise.all(pids.map(cpuSeconds));
      const bytesBefore = target.answerBytes();
      const offset = options.warmup + turn.sent;
      turn.runs.push(
        await runLoad((i) => target.send(offset + i), {
          requests: share,
          concurrency: options.concurrency,
        }),
      );
      const flushStarted = performance.now();
      await hooks.afterTurn?.();
      turn.flushSeconds += (performance.now() - flushStarted) / 1000;
      const after = await Promise.all(pids.map(cpuSeconds));
      turn.sent += share;
      turn.bytes += target.answerBytes() - bytesBefore;
      for (const i of [0, 1, 2]) {
        const [from, to] = [before[i], after[i]];
        turn.cpu[i] = from === null || to === null ? NaN : turn.cpu[i] + (to - from);
      }
    }
  }
  const figures: GatewayFigures[] = [];
  for (const [index, target] of targets.entries()) {
    const turn = turns[index];
    const run = mergeLoadRuns(turn.runs);
    const perImage = (i: number) =>
      Number.isNaN(turn.cpu[i]) || run.ok === 0 ? null : turn.cpu[i] * 1000 / run.ok;
    const { records, files } = await target.stored();
    const okAnswers = warm[index].ok + run.ok;
    const failed = options.warmup + options.requests - okAnswers;
    const kept = Math.min(records ?? Infinity, files ?? Infinity);
    const storedSeconds = run.seconds + turn.flushSeconds;
    figures.push({
      name: target.name,
      run,
      flushSeconds: turn.flushSeconds,
      storedRps: storedSeconds > 0 ? run.ok / storedSeconds : 0,
      cpuMsPerImage: perImage(0),
      upstreamCpuMsPerImage: perImage(1),
      clientCpuMsPerImage: perImage(2),
      answerBytes: turn.bytes / Math.max(1, options.requests),
      okAnswers,
      records,
      files,
      lost: kept === Infinity ? null : failed + Math.max(0, okAnswers - kept),
    });
  }
  return figures;
}

/** Counts the bytes of answer bodies the load client reads. */
export class AnswerMeter {
  #bytes = 0;

  /** Bytes read so far. */
  readonly total = (): number => this.#bytes;

  /**
   * Whether an Images API answer succeeded, its body read in full as it streams in (every byte
   * read, none kept or parsed: an image answer is megabytes of base64).
   */
  async images(response: Response): Promise<true | string> {
    let bytes = 0;
    for await (const chunk of response.body ?? []) bytes += chunk.length;
    this.#bytes += bytes;
    if (!response.ok) return `HTTP ${response.status}`;
    return bytes > 1_000_000 ? true : `short body (${bytes} B)`;
  }

  /** The answer's body as text (read in full). */
  async text(response: Response): Promise<string> {
    const text = await response.text();
    this.#bytes += text.length;
    return text;
  }

  /**
   * Whether a REST `POST /mcp` answer (the predecessor's shape, `{ success: true, data }`)
   * succeeded: its JSON body read and parsed.
   */
  async rest(response: Response): Promise<true | string> {
    const text = await this.text(response);
    if (!response.ok) return `HTTP ${response.status}`;
    const body = JSON.parse(text) as { success?: boolean; error?: string };
    return body.success === true ? true : `failed: ${String(body.error).slice(0, 80)}`;
  }
}

/** The fake upstream alone: the generation request POSTed straight to it. */
export function fakeAlone(upstream: UpstreamProcess): GatewayTarget {
  const meter = new AnswerMeter();
  return {
    name: "the fake alone",
    pid: upstream.pid,
    answerBytes: meter.total,
    async send(i) {
      const response = await postJson(`${upstream.baseUrl}/images/generations`, {
        model: "gpt-image-2",
        prompt: `bench image ${i}`,
        size: GATEWAY_SIZE,
        quality: "low",
      }, { authorization: "Bearer sk-bench-0123456789abcdef" });
      return await meter.images(response);
    },
    stored: () => Promise.resolve({ records: null, files: null }),
    async [Symbol.asyncDispose]() {},
  };
}

/** Image files (not hidden, not thumbnails) directly in `dir`. */
export async function countImageFiles(dir: string): Promise<number> {
  let count = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && !entry.name.startsWith(".") && /\.(png|jpe?g|webp)$/.test(entry.name)) {
        count++;
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return count;
}

/** The first JSON-RPC message with an id in an MCP answer (JSON or server-sent events). */
function jsonRpcAnswer(text: string): Record<string, unknown> | null {
  const candidates = text.trimStart().startsWith("{")
    ? [text]
    : text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5));
  for (const candidate of candidates) {
    try {
      const message = JSON.parse(candidate);
      if (message && "id" in message) return message;
    } catch {
      // Not a whole message: keep looking.
    }
  }
  return null;
}

const BENCH_TOKEN = "bench-token-0123456789abcdef";

/** A door of this service the load client can call. */
export type Door = "rest" | "mcp" | "v1";

/** What each door's request is, for reports. */
export const DOOR_REQUEST: Readonly<Record<Door, string>> = Object.freeze({
  rest: "`POST /mcp` `{ prompt, save: true }` (the predecessor's REST request)",
  mcp: "`POST /mcp` `tools/call generate_image` with `save:true` (answer with a JPEG preview)",
  v1: "`POST /v1/images/generations` (b64_json answer)",
});

/** Row name of this service called through `door`. */
export function serviceRowName(door: Door): string {
  return door === "rest" ? "this service" : `this service, ${door === "mcp" ? "MCP" : "/v1"} door`;
}

/**
 * This service as operators run it (`deno run -P=http src/main_http.ts`, fresh DATA_DIR and KV),
 * limits off, pointed at `upstream`, called through `door` (default `rest`) for images of `size`
 * (default {@link GATEWAY_SIZE}); `env` adds or overrides settings, `denoFlags` go to `deno run`.
 */
export async function thisService(
  upstream: UpstreamProcess,
  options: { door?: Door; size?: string; env?: Record<string, string>; denoFlags?: string[] } = {},
): Promise<GatewayTarget & { readonly process: HttpServerProcess }> {
  const dataDir = await Deno.makeTempDir({ prefix: "bench-service-" });
  const outputDir = join(dataDir, "images");
  const service = await spawnHttpService({
    OPENAI_API_KEY: "sk-bench-0123456789abcdef",
    OPENAI_BASE_URL: upstream.baseUrl,
    OUTPUT_DIR: outputDir,
    MCP_AUTH_TOKEN: BENCH_TOKEN,
    REQUEST_RATE_LIMIT: "0",
    IMAGE_GENERATION_RATE_LIMIT: "0",
    MAX_INFLIGHT_PER_KEY: "0",
    ...options.env,
  }, { name: "this service", dataDir, denoFlags: options.denoFlags ?? [] });
  const auth = { authorization: `Bearer ${BENCH_TOKEN}` };
  const size = options.size ?? GATEWAY_SIZE;
  const door = options.door ?? "rest";
  const meter = new AnswerMeter();
  return {
    name: serviceRowName(door),
    pid: service.pid,
    process: service,
    answerBytes: meter.total,
    async send(i) {
      const prompt = `bench image ${i}`;
      if (door === "v1") {
        const body = { model: "gpt-image-2", prompt, size, quality: "low" };
        return await meter.images(
          await postJson(`${service.url}/v1/images/generations`, body, auth),
        );
      }
      if (door === "rest") {
        const body = { prompt, size, quality: "low", save: true };
        return await meter.rest(await postJson(`${service.url}/mcp`, body, auth));
      }
      const response = await postJson(`${service.url}/mcp`, {
        jsonrpc: "2.0",
        id: i + 1,
        method: "tools/call",
        params: {
          name: "generate_image",
          arguments: { prompt, size, quality: "low", save: true },
        },
      }, { ...auth, accept: "application/json, text/event-stream" });
      const text = await meter.text(response);
      if (!response.ok) return `HTTP ${response.status}`;
      const answer = jsonRpcAnswer(text);
      if (answer === null) return "no JSON-RPC answer";
      if (answer.error) return `JSON-RPC error ${(answer.error as { code: number }).code}`;
      const result = answer.result as { isError?: boolean; content?: { text?: string }[] };
      if (result?.isError) return `tool error: ${result.content?.[0]?.text?.slice(0, 80)}`;
      return true;
    },
    async stored() {
      const response = await fetch(`${service.url}/admin/images/stats`, { headers: auth });
      const body = await response.json() as { stats?: { count?: number } };
      return {
        records: typeof body.stats?.count === "number" ? body.stats.count : null,
        files: await countImageFiles(outputDir),
      };
    },
    async [Symbol.asyncDispose]() {
      await service.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Row name of {@link minimalGateway}. */
export const MINIMAL_GATEWAY_ROW = "the unavoidable work alone";

/**
 * scripts/bench/minimal_gateway.ts in its own process: the REST request, the upstream call, the
 * base64 decoded into a temporary file with this service's decoder and writer (hashed while
 * written), fsync, rename, folder fsync — nothing else. The ceiling of any gateway that stores
 * what it receives, next to the fake alone in the same run.
 */
export async function minimalGateway(upstream: UpstreamProcess): Promise<GatewayTarget> {
  const folder = await Deno.makeTempDir({ prefix: "bench-minimal-" });
  const script = new URL("./minimal_gateway.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=test", script, upstream.baseUrl, folder],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let url: string | undefined;
  while (url === undefined) {
    const { done, value } = await lines.read();
    if (done) throw new Error("the minimal gateway exited before listening");
    seen += value;
    url = /listening on (\S+)/.exec(seen)?.[1];
  }
  lines.releaseLock();
  child.stdout.cancel().catch(() => {});
  const meter = new AnswerMeter();
  return {
    name: MINIMAL_GATEWAY_ROW,
    pid: child.pid,
    answerBytes: meter.total,
    async send(i) {
      const body = { prompt: `bench image ${i}`, size: GATEWAY_SIZE, quality: "low", save: true };
      return await meter.rest(await postJson(`${url}/mcp`, body));
    },
    async stored() {
      return { records: null, files: await countImageFiles(folder) };
    },
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(folder, { recursive: true }).catch(() => {});
    },
  };
}
