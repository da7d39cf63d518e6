/**
 * End-to-end: the README's "Try it without an API key" block, run as a person on a fresh clone
 * runs it — `deno task fake-openai`, then `deno task serve` with the environment the README shows,
 * then the README's `curl` request 15 times in a row — makes 15 images on default settings.
 *
 * The commands are read from README.md, not restated here. Their fixed ports (the fake's 8787, the
 * service's 3000) are first checked to be the real defaults, then both are moved to free ports
 * (`FAKE_OPENAI_PORT`, `PORT`, and the same numbers in the commands' URLs): the suite runs on
 * shared machines where something else may hold a fixed port.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { resolveConfig } from "../../src/config.ts";
import { FAKE_OPENAI_DEFAULT_PORT } from "../fake_openai.ts";
import { eventually } from "../support/eventually.ts";
import { ROOT } from "./support/mcp_client.ts";

const README = join(ROOT, "README.md");
const IMAGES = 15;

/** The shell lines of the first `sh` block under `heading`, comments removed. */
function shellBlock(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README.md has a section "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(markdown.slice(start));
  assert.ok(block, `the section "${heading}" has a sh block`);
  return block[1].split("\n").map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
}

/** A README command without quotes or shell syntax, as environment assignments plus argv. */
function simpleCommand(line: string): { env: Record<string, string>; argv: string[] } {
  assert.doesNotMatch(line, /['"`$|&;<>()\\]/, `"${line}" is a simple command`);
  const words = line.split(/\s+/);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const word = words.shift()!;
    env[word.slice(0, word.indexOf("="))] = word.slice(word.indexOf("=") + 1);
  }
  return { env, argv: words };
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

/** A long-running README command in its own process, with its output collected. */
class Running implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #output = "";
  #pumps: Promise<void>;

  constructor(argv: string[], env: Record<string, string>) {
    this.#child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: ROOT,
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this.#output += text;
    };
    this.#pumps = Promise.all([pump(this.#child.stdout), pump(this.#child.stderr)]).then(() => {});
  }

  /** Everything written to stdout and stderr so far. */
  get output(): string {
    return this.#output;
  }

  /** Waits until the output matches `pattern`; fails when the process ends or time runs out. */
  async waitFor(pattern: RegExp, what: string, timeoutMs = 60_000): Promise<void> {
    let ended = false;
    this.#child.status.then(() => (ended = true));
    await eventually(
      () => {
        if (ended && !pattern.test(this.#output)) {
          throw new Error(`The process ended before ${what}`);
        }
        return pattern.test(this.#output);
      },
      what,
      timeoutMs,
    ).catch((error) => assert.fail(`${error.message}; output:\n${this.#output}`));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      // `deno task` passes the signal on to the task's process.
      this.#child.kill("SIGTERM");
    } catch {
      // Already ended.
    }
    await this.#child.status;
    await this.#pumps;
  }
}

Deno.test(`the README's quick start, run as written, makes ${IMAGES} images in a row on default settings`, async () => {
  const markdown = await Deno.readTextFile(README);
  const [fakeLine, serveLine, requestLine, ...rest] = shellBlock(
    markdown,
    "### Try it without an API key",
  );
  assert.deepEqual(rest, [], "three commands: the fake, the service, a request");
  await assert.rejects(
    Deno.stat(join(ROOT, ".env")),
    Deno.errors.NotFound,
    "a fresh clone has no .env",
  );

  // The README's fixed addresses are the defaults of the commands it runs.
  const fakeUrl = `http://127.0.0.1:${FAKE_OPENAI_DEFAULT_PORT}`;
  const serviceUrl = `http://127.0.0.1:${resolveConfig({ env: {}, dotenv: {}, flags: {} }).port}`;
  const fake = simpleCommand(fakeLine);
  const serve = simpleCommand(serveLine);
  assert.deepEqual(fake.argv, ["deno", "task", "fake-openai"]);
  assert.deepEqual(serve.argv, ["deno", "task", "serve"]);
  assert.equal(serve.env.OPENAI_BASE_URL, `${fakeUrl}/v1`, "the service points at the fake");
  assert.ok(requestLine.startsWith(`curl -s ${serviceUrl}/`), requestLine);

  const fakePort = freePort();
  const servicePort = freePort();
  const moved = (text: string) =>
    text.replaceAll(fakeUrl, `http://127.0.0.1:${fakePort}`)
      .replaceAll(serviceUrl, `http://127.0.0.1:${servicePort}`);
  const home = await Deno.makeTempDir({ prefix: "readme-quick-start-" });
  // A person's shell: deno on PATH, a home of their own (so a fresh data directory), no settings.
  const shell = {
    PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
  };
  try {
    await using _fake = new Running(fake.argv, {
      ...shell,
      ...fake.env,
      FAKE_OPENAI_PORT: String(fakePort),
    });
    await _fake.waitFor(
      new RegExp(`^http://127\\.0\\.0\\.1:${fakePort}/v1$`, "m"),
      "the fake printing its URL",
    );
    const serveEnv = Object.fromEntries(
      Object.entries(serve.env).map(([name, value]) => [name, moved(value)]),
    );
    await using service = new Running(serve.argv, {
      ...shell,
      ...serveEnv,
      PORT: String(servicePort),
    });
    await service.waitFor(/HTTP service listening on/, "the service listening");
    assert.match(service.output, new RegExp(`http://127\\.0\\.0\\.1:${servicePort}`));

    const urls = new Set<string>();
    for (let i = 1; i <= IMAGES; i++) {
      const run = await new Deno.Command("sh", {
        args: ["-c", moved(requestLine)],
        cwd: ROOT,
        clearEnv: true,
        env: shell,
      }).output();
      const stdout = new TextDecoder().decode(run.stdout);
      assert.equal(run.code, 0, `request ${i}: ${new TextDecoder().decode(run.stderr)}`);
      const answer = JSON.parse(stdout) as { success: boolean; data?: { imageUrl?: string } };
      assert.equal(answer.success, true, `request ${i}: ${stdout}`);
      assert.ok(answer.data?.imageUrl, `request ${i} links its image`);
      urls.add(answer.data.imageUrl);
    }
    assert.equal(urls.size, IMAGES, "every request saved its own image");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
