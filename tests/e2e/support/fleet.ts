/**
 * Several HTTP service processes on one machine, the way a fleet runs them: each instance is
 * `deno run -P=http src/main_http.ts` in its own process with its own data directory, and they
 * share only what the environment gives them (one KV file, one fake upstream). Unlike
 * `http_server.ts`, an instance here can be sent any signal (SIGKILL for a crash, SIGINT for a
 * Deploy eviction) and can run with extra Deno flags such as `--deny-write`.
 *
 * @module
 */
import { ROOT } from "./mcp_client.ts";
import { MAIN_HTTP } from "./http_server.ts";

/** One running HTTP service process. */
export interface HttpInstance extends AsyncDisposable {
  /** A name for messages, e.g. `A`. */
  readonly name: string;
  /** Base address, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** Process id. */
  readonly pid: number;
  /** Data directory of this instance (DATA_DIR, HOME and the working directory). */
  readonly dataDir: string;
  /** Settles with the exit code when the process ends (for any reason). */
  readonly exited: Promise<number>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` to the process (ignored once it has exited). */
  kill(signal: Deno.Signal): void;
  /** Sends SIGTERM, waits up to `graceMs` (default 15,000), then SIGKILL; returns the exit code. */
  stop(graceMs?: number): Promise<number>;
}

/** Options of {@link spawnHttpInstance}. */
export interface SpawnHttpOptions {
  /** A name for messages (default `http`). */
  name?: string;
  /** Data directory; must exist (default: a fresh temporary directory, removed on stop). */
  dataDir?: string;
  /** Deno flags added after `-P=http`, e.g. `["--deny-write"]`. */
  denoFlags?: string[];
  /** Longest wait for the listening log line, in milliseconds (default 30,000). */
  startTimeoutMs?: number;
}

function listeningUrl(line: string): string | undefined {
  if (!line.includes("HTTP service listening on")) return undefined;
  try {
    const url = (JSON.parse(line) as { properties?: { url?: unknown } }).properties?.url;
    return typeof url === "string" ? url.replace(/\/$/, "") : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Spawns the HTTP service with `env` on top of a clean environment (PORT=0, HOST=127.0.0.1,
 * LOG_FORMAT=json, DATA_DIR=HOME=the data directory) and waits until it listens.
 */
export async function spawnHttpInstance(
  env: Record<string, string>,
  options: SpawnHttpOptions = {},
): Promise<HttpInstance> {
  const name = options.name ?? "http";
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "fleet-instance-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-P=http",
      ...(options.denoFlags ?? []),
      "--config",
      `${ROOT}deno.json`,
      MAIN_HTTP,
    ],
    cwd: dataDir,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      DENO_NO_UPDATE_CHECK: "1",
      HOME: dataDir,
      DATA_DIR: dataDir,
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
  }).spawn();

  let stderr = "";
  const found = Promise.withResolvers<string>();
  const pumpStderr = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stderr) {
      const text = decoder.decode(chunk, { stream: true });
      stderr += text;
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const url = listeningUrl(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (url !== undefined) found.resolve(url);
      }
    }
  })();
  // Nothing in src/ writes to stdout; drain it anyway so a stray write can never block the child.
  const pumpStdout = child.stdout.pipeTo(new WritableStream());
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
      await Promise.all([pumpStderr, pumpStdout.catch(() => {})]);
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
      exited.then((code) => {
        throw new Error(`HTTP instance ${name} exited with code ${code} before listening`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`HTTP instance ${name} did not listen within ${startTimeoutMs} ms`)),
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
      kill,
      stop,
      async [Symbol.asyncDispose]() {
        await stop();
      },
    };
  } catch (error) {
    await stop(2_000);
    throw new Error(`${(error as Error).message}\n--- stderr ---\n${stderr}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Several instances sharing one KV file, each with its own data directory. */
export interface Fleet extends AsyncDisposable {
  /** The instances, named A, B, C, … */
  readonly instances: readonly HttpInstance[];
  /** The shared KV file (KV_PATH of every instance). */
  readonly kvPath: string;
  /** Stops every instance still running (SIGTERM, then SIGKILL) and removes the directories. */
  stop(): Promise<void>;
}

/**
 * Starts `count` instances in parallel on one KV file (`KV_PATH=<tmp>/kv.sqlite3`) with `env`;
 * if any fails to start, the others are stopped before the error is thrown.
 */
export async function startFleet(
  count: number,
  env: Record<string, string>,
): Promise<Fleet> {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Cannot start a fleet: count must be a positive integer, got ${count}`);
  }
  const root = await Deno.makeTempDir({ prefix: "fleet-" });
  const kvPath = `${root}/kv.sqlite3`;
  const names = Array.from({ length: count }, (_, i) => String.fromCharCode(65 + i));
  for (const name of names) await Deno.mkdir(`${root}/${name}`);
  const started = await Promise.allSettled(
    names.map((name) =>
      spawnHttpInstance({ ...env, KV_PATH: kvPath }, { name, dataDir: `${root}/${name}` })
    ),
  );
  const instances = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const stop = async () => {
    await Promise.all(instances.map((instance) => instance.stop(5_000)));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { instances, kvPath, stop, [Symbol.asyncDispose]: stop };
}

/**
 * Runs `task(i)` for i = 0 … total-1 with at most `concurrency` running at once; returns the
 * results in order.
 */
export async function runBounded<T>(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}

/** Hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
