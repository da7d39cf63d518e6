/**
 * Runs the real HTTP service the way operators do: `deno run -P=http src/main_http.ts` in its own
 * process, with a clean environment, a free port (`PORT=0`) on 127.0.0.1 and JSON logs on stderr,
 * from which the listening address is read. {@link spawnHttpService} is the one spawner every
 * test and script uses; an instance can be sent any signal (SIGKILL for a crash, SIGINT for a
 * Deploy eviction) and can run with extra Deno flags such as `--deny-write`.
 *
 * @module
 */
import { type FakeOpenAI, startFakeOpenAI } from "../../fake_openai.ts";
import { ROOT } from "./mcp_client.ts";

/** Path of the HTTP entrypoint. */
export const MAIN_HTTP = new URL("../../../src/main_http.ts", import.meta.url).pathname;

/** A running HTTP service process. */
export interface HttpServerProcess extends AsyncDisposable {
  /** A name for messages, e.g. `A` (default `http`). */
  readonly name: string;
  /** Base address, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** Process id. */
  readonly pid: number;
  /** Data directory of this process (DATA_DIR, HOME and the working directory). */
  readonly dataDir: string;
  /** Settles with the exit code when the process ends (for any reason). */
  readonly exited: Promise<number>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Everything the process wrote to stdout so far (nothing, unless something is wrong). */
  stdout(): string;
  /** Sends `signal` to the process (ignored once it has exited). */
  kill(signal: Deno.Signal): void;
  /** Sends SIGTERM, waits up to `graceMs` (default 15,000), then SIGKILL; returns the exit code. */
  stop(graceMs?: number): Promise<number>;
}

/** Options of {@link spawnHttpService} and {@link startHttpServer}. */
export interface SpawnHttpOptions {
  /** A name for messages (default `http`). */
  name?: string;
  /**
   * Data directory; must exist and is kept on stop (default: `env.DATA_DIR`, else a fresh
   * temporary directory, removed on stop).
   */
  dataDir?: string;
  /** Deno flags added after `-P=http`, e.g. `["--deny-write"]`. */
  denoFlags?: string[];
  /** Longest wait for the listening log line, in milliseconds (default 30,000). */
  startTimeoutMs?: number;
}

const LISTENING = /HTTP service listening on/;

function listeningUrl(line: string): string | undefined {
  if (!LISTENING.test(line)) return undefined;
  try {
    const record = JSON.parse(line) as { properties?: { url?: unknown } };
    if (typeof record.properties?.url === "string") return record.properties.url;
  } catch {
    // Not a JSON line: fall back to the text.
  }
  return /"?(http:\/\/[^"\s]+)"?/.exec(line)?.[1];
}

/** Decodes `stream`, handing each piece of text to `append` and each complete line to `onLine`. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  append: (text: string) => void,
  onLine?: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    append(text);
    if (onLine === undefined) continue;
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
}

/**
 * The command that runs the HTTP entrypoint in `dataDir` with `env` on top of a clean environment
 * (PORT=0, HOST=127.0.0.1, LOG_FORMAT=json, LOG_LEVEL=info, DATA_DIR=HOME=`dataDir`), with
 * `args` after the entrypoint and piped output.
 */
export function httpServiceCommand(
  env: Record<string, string>,
  options: { dataDir: string; denoFlags?: string[]; args?: string[] },
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-P=http",
      ...(options.denoFlags ?? []),
      "--config",
      `${ROOT}deno.json`,
      MAIN_HTTP,
      ...(options.args ?? []),
    ],
    cwd: options.dataDir,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      DENO_NO_UPDATE_CHECK: "1",
      HOME: options.dataDir,
      DATA_DIR: options.dataDir,
      HOST: "127.0.0.1",
      PORT: "0",
      NO_COLOR: "1",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Spawns the HTTP service with `env` on top of a clean environment (PORT=0, HOST=127.0.0.1,
 * LOG_FORMAT=json, LOG_LEVEL=info, DATA_DIR=HOME=the data directory) and waits until it listens;
 * if it exits or stays silent first, it is stopped and the error carries its output.
 */
export async function spawnHttpService(
  env: Record<string, string>,
  options: SpawnHttpOptions = {},
): Promise<HttpServerProcess> {
  const name = options.name ?? "http";
  const givenDir = options.dataDir ?? env.DATA_DIR;
  const dataDir = givenDir ?? await Deno.makeTempDir({ prefix: "http-e2e-" });
  const child = httpServiceCommand(env, { dataDir, denoFlags: options.denoFlags ?? [] }).spawn();

  let stderr = "";
  let stdout = "";
  const found = Promise.withResolvers<string>();
  const pumps = Promise.all([
    pump(child.stderr, (text) => (stderr += text), (line) => {
      const url = listeningUrl(line);
      if (url !== undefined) found.resolve(url.replace(/\/$/, ""));
    }),
    // Nothing in src/ writes to stdout; drain it anyway so a stray write can never block the child.
    pump(child.stdout, (text) => (stdout += text)),
  ]);
  let exitCode: number | undefined;
  const exited = child.status.then((status) => (exitCode = status.code));

  const kill = (signal: Deno.Signal) => {
    if (exitCode !== undefined) return;
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  let stopping: Promise<number> | undefined;
  const stop = (graceMs = 15_000): Promise<number> => {
    stopping ??= (async () => {
      kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hard = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          kill("SIGKILL");
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, hard]);
      clearTimeout(timer);
      const code = await exited;
      await pumps.catch(() => {});
      if (givenDir === undefined) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      return code;
    })();
    return stopping;
  };

  const label = options.name === undefined ? "The HTTP service" : `HTTP instance ${name}`;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      found.promise,
      exited.then((code) => {
        throw new Error(`${label} exited with code ${code} before listening`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${label} did not listen within ${startTimeoutMs} ms`)),
          startTimeoutMs,
        );
      }),
    ]);
    return {
      name,
      url,
      pid: child.pid,
      dataDir,
      exited,
      stderr: () => stderr,
      stdout: () => stdout,
      kill,
      stop,
      async [Symbol.asyncDispose]() {
        await stop();
      },
    };
  } catch (error) {
    await stop(2_000);
    throw new Error(
      `${(error as Error).message}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * {@link spawnHttpService} with debug logging (unless `env` sets LOG_LEVEL): the service most e2e
 * tests drive, whose log is printed when a test fails.
 */
export function startHttpServer(
  env: Record<string, string>,
  options: SpawnHttpOptions = {},
): Promise<HttpServerProcess> {
  return spawnHttpService({ LOG_LEVEL: "debug", ...env }, options);
}

/** The upstream API key every e2e service gets (the fake accepts any but one). */
export const TEST_OPENAI_KEY = "sk-test-e2e-key-0123456789";

/** A service process and the fake upstream it talks to. */
export interface HttpHarness {
  /** The service process. */
  server: HttpServerProcess;
  /** The fake OpenAI it calls. */
  fake: FakeOpenAI;
}

/**
 * Starts a fake upstream and a service pointed at it with `env` (no upstream retries, a generous
 * request limit unless `env` says otherwise), runs `fn`, prints the service's log when `fn`
 * throws, and stops both.
 */
export async function withHttpService(
  env: Record<string, string>,
  fn: (harness: HttpHarness) => Promise<void>,
): Promise<void> {
  await using fake = await startFakeOpenAI();
  await using server = await startHttpServer({
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    OPENAI_MAX_RETRIES: "0",
    REQUEST_RATE_LIMIT: "10000/1m",
    ...env,
  });
  try {
    await fn({ server, fake });
  } catch (error) {
    console.error(`--- service stderr (last 8 KB) ---\n${server.stderr().slice(-8192)}`);
    throw error;
  }
}
