/**
 * Runs the real HTTP service the way operators do: `deno run -P=http src/main_http.ts` in its own
 * process, with a clean environment, a free port (`PORT=0`) on 127.0.0.1 and JSON logs on stderr,
 * from which the listening address is read.
 *
 * @module
 */
import { type FakeOpenAI, startFakeOpenAI } from "../../fake_openai.ts";
import { ROOT } from "./mcp_client.ts";

/** Path of the HTTP entrypoint. */
export const MAIN_HTTP = new URL("../../../src/main_http.ts", import.meta.url).pathname;

/** A running HTTP service process. */
export interface HttpServerProcess extends AsyncDisposable {
  /** Base address, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** Data directory of this process (DATA_DIR). */
  readonly dataDir: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`); returns the exit code. */
  stop(graceMs?: number): Promise<number>;
}

/** Options of {@link startHttpServer}. */
export interface StartHttpServerOptions {
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

/**
 * Spawns the HTTP service with `env` (on top of PORT=0, HOST=127.0.0.1, LOG_FORMAT=json and, unless
 * given, DATA_DIR / HOME / KV_PATH in a fresh temporary directory, removed on stop) and waits
 * until it listens.
 */
export async function startHttpServer(
  env: Record<string, string>,
  options: StartHttpServerOptions = {},
): Promise<HttpServerProcess> {
  const ownDir = env.DATA_DIR === undefined;
  const dataDir = env.DATA_DIR ?? await Deno.makeTempDir({ prefix: "http-e2e-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=http", "--config", `${ROOT}deno.json`, MAIN_HTTP],
    cwd: dataDir,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      DENO_NO_UPDATE_CHECK: "1",
      HOME: dataDir,
      DATA_DIR: dataDir,
      KV_PATH: `${dataDir}/kv.sqlite3`,
      HOST: "127.0.0.1",
      PORT: "0",
      NO_COLOR: "1",
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let stderr = "";
  let stdout = "";
  const found = Promise.withResolvers<string>();
  const decoder = new TextDecoder();
  const pumpStderr = (async () => {
    let pending = "";
    for await (const chunk of child.stderr) {
      const text = decoder.decode(chunk, { stream: true });
      stderr += text;
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const url = listeningUrl(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (url !== undefined) found.resolve(url.replace(/\/$/, ""));
      }
    }
  })();
  const pumpStdout = (async () => {
    for await (const chunk of child.stdout) stdout += new TextDecoder().decode(chunk);
  })();
  let exitCode: number | undefined;
  const status = child.status.then((s) => {
    exitCode = s.code;
    return s.code;
  });

  let stopping: Promise<number> | undefined;
  const stop = (graceMs = 15_000): Promise<number> => {
    stopping ??= (async () => {
      if (exitCode === undefined) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Already gone.
          }
          resolve();
        }, graceMs);
      });
      await Promise.race([status, killed]);
      clearTimeout(timer);
      const code = await status;
      await Promise.all([pumpStderr, pumpStdout]);
      if (ownDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      return code;
    })();
    return stopping;
  };

  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      found.promise,
      status.then((code) => {
        throw new Error(`The HTTP service exited with code ${code} before listening`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`The HTTP service did not listen within ${startTimeoutMs} ms`)),
          startTimeoutMs,
        );
      }),
    ]);
    return {
      url,
      dataDir,
      stderr: () => stderr,
      stop,
      async [Symbol.asyncDispose]() {
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw new Error(
      `${(error as Error).message}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`,
    );
  } finally {
    clearTimeout(timer);
  }
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
