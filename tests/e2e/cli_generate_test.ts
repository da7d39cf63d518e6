/**
 * `generate` and `edit` through the real entrypoint against the fake upstream: paths on stdout,
 * JSON shapes, output files, the predecessor's flags, exit codes of upstream failures, and the
 * progress line (stderr only, terminal only — checked through a pseudo-terminal with `script`).
 */
import assert from "node:assert/strict";
import { errorKindInfo } from "../../src/errors.ts";
import { probeImage, startFakeOpenAI } from "../fake_openai.ts";
import { cliCommand, cliEnv, runCli, shellWord, stdoutJson, tempDataDir } from "./support/cli.ts";
import { eventually } from "../support/eventually.ts";

const KEY = "sk-test-cli-generate-0123456789";

interface GenerateJson {
  jobId: string;
  model: string;
  images: {
    id: string;
    path: string | null;
    saved: boolean;
    fileName: string | null;
    mime: string;
    width: number;
    height: number;
    bytes: number;
    sha256: string | null;
  }[];
  warnings: string[];
  cost: { usd: number | null; basis: string };
  timings: { upstreamMs: number; totalMs: number };
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

Deno.test("generate prints the saved image's path on stdout and nothing else", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl };
  const run = await runCli(["generate", "a lighthouse at dusk"], { dataDir: dir.path, env });
  assert.equal(run.code, 0, run.stderr);
  const paths = lines(run.stdout);
  assert.equal(paths.length, 1);
  assert.ok(paths[0].startsWith(`${dir.path}/images/`), paths[0]);
  const probed = probeImage(await Deno.readFile(paths[0]));
  assert.equal(probed?.format, "png");
  assert.equal(fake.lastRequest?.path, "/v1/images/generations");
  assert.equal(fake.lastRequest?.fields?.prompt, "a lighthouse at dusk");
  assert.doesNotMatch(run.stderr, /\r|generating/, "no progress when stderr is not a terminal");
  const listed = stdoutJson<{ items: { path: string; prompt: string; door: string }[] }>(
    await runCli(["images", "list", "--json"], { dataDir: dir.path, env }),
  );
  assert.deepEqual(listed.items.map((i) => [i.path, i.prompt, i.door]), [
    [paths[0], "a lighthouse at dusk", "cli"],
  ]);
});

Deno.test("generate --json describes every image, the cost and the timings", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl };
  const run = await runCli(
    ["generate", "two", "words", "--n", "2", "--size", "1536x1024", "--format", "webp", "--json"],
    { dataDir: dir.path, env },
  );
  assert.equal(run.code, 0, run.stderr);
  const body = stdoutJson<GenerateJson>(run);
  assert.equal(body.model, "gpt-image-2");
  assert.equal(body.images.length, 2);
  for (const image of body.images) {
    assert.equal(image.saved, true);
    assert.equal(image.mime, "image/webp");
    assert.deepEqual([image.width, image.height], [1536, 1024]);
    assert.equal(image.path, `${dir.path}/images/${image.fileName}`);
    assert.equal((await Deno.stat(image.path!)).size, image.bytes);
    assert.match(image.sha256 ?? "", /^[0-9a-f]{64}$/);
  }
  assert.equal(typeof body.jobId, "string");
  assert.ok(body.timings.totalMs >= body.timings.upstreamMs);
  assert.ok(["tokens", "per_image", "unknown"].includes(body.cost.basis));
  assert.equal(fake.lastRequest?.fields?.prompt, "two words");
  assert.equal(fake.lastRequest?.fields?.n, 2);
});

Deno.test("-o writes numbered copies for several images; --no-save stores nothing", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl };
  const copies = await runCli(["generate", "boats", "-n", "2", "-o", "out/boat.png"], {
    dataDir: dir.path,
    env,
  });
  assert.equal(copies.code, 0, copies.stderr);
  assert.deepEqual(lines(copies.stdout), [
    `${dir.path}/out/boat-1.png`,
    `${dir.path}/out/boat-2.png`,
  ]);
  for (const path of lines(copies.stdout)) {
    assert.equal(probeImage(await Deno.readFile(path))?.format, "png");
  }

  const unsaved = await runCli(["generate", "a kite", "--no-save", "-o", "kite.png", "--json"], {
    dataDir: dir.path,
    env,
  });
  assert.equal(unsaved.code, 0, unsaved.stderr);
  const body = stdoutJson<GenerateJson>(unsaved);
  assert.equal(body.images[0].saved, false);
  assert.equal(body.images[0].path, `${dir.path}/kite.png`);
  assert.equal(body.images[0].fileName, null);
  assert.equal(probeImage(await Deno.readFile(`${dir.path}/kite.png`))?.format, "png");
  const stats = stdoutJson<{ stats: { count: number } }>(
    await runCli(["images", "stats", "--json"], { dataDir: dir.path, env }),
  );
  assert.equal(stats.stats.count, 2, "only the two saved boats are stored");
});

Deno.test("the predecessor's generate flags -m -s -q --style keep working", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl };
  const run = await runCli(
    ["generate", "a red barn", "-m", "dall-e-3", "-s", "1024x1024", "-q", "hd", "--style", "vivid"],
    { dataDir: dir.path, env },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(lines(run.stdout).length, 1);
  // dall-e-3 is retired: LEGACY_MODELS=translate sends the default model and says so.
  assert.equal(fake.lastRequest?.fields?.model, "gpt-image-2");
  assert.equal(fake.lastRequest?.fields?.quality, "high");
  assert.equal(fake.lastRequest?.fields?.size, "1024x1024");
  assert.match(run.stderr, /^warning: .*dall-e-3/m);
});

Deno.test("generate exits with the documented code of each failure", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_MAX_RETRIES: "0",
  };
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [["generate", "x", "--size", "17x17"], {}, 2, /size/],
    [["generate", "x", "--n", "two"], {}, 2, /Invalid --n "two"/],
    [["generate", "x", "--n", "11"], {}, errorKindInfo("validation").exitCode, /n/],
    [
      ["generate", "x"],
      { OPENAI_API_KEY: "" },
      errorKindInfo("missing_api_key").exitCode,
      /export OPENAI_API_KEY=sk-\.\.\. in your shell, or put OPENAI_API_KEY=sk-\.\.\. in \.env/,
    ],
    [
      ["generate", "x [fault:moderation]"],
      {},
      errorKindInfo("moderation_blocked").exitCode,
      /safety/,
    ],
    [
      ["generate", "x [fault:rate_limit]"],
      {},
      errorKindInfo("upstream_rate_limited").exitCode,
      /rate limit/,
    ],
    [
      ["generate", "x [fault:server_error]"],
      {},
      errorKindInfo("upstream_unavailable").exitCode,
      /./,
    ],
  ];
  for (const [args, extra, code, message] of cases) {
    const run = await runCli(args, { dataDir: dir.path, env: { ...env, ...extra } });
    assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, /^error: /m);
    assert.match(run.stderr, message);
    assert.equal(run.stdout, "");
  }
  const json = await runCli(["generate", "x [fault:moderation]", "--json"], {
    dataDir: dir.path,
    env,
  });
  const body = stdoutJson<{ error: { kind: string; exitCode: number } }>(json);
  assert.deepEqual(body.error.kind, "moderation_blocked");
  assert.equal(body.error.exitCode, json.code);
});

Deno.test("edit reads local files, sends them upstream and saves the result", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl };
  // An input outside OUTPUT_DIR: the CLI reads it itself, so any readable file works.
  const source = await runCli(["generate", "a teapot", "--no-save", "-o", "in/teapot.png"], {
    dataDir: dir.path,
    env,
  });
  assert.equal(source.code, 0, source.stderr);
  const run = await runCli(
    ["edit", "in/teapot.png", "--prompt", "make it blue", "--json"],
    { dataDir: dir.path, env },
  );
  assert.equal(run.code, 0, run.stderr);
  const body = stdoutJson<GenerateJson>(run);
  assert.equal(body.images.length, 1);
  assert.ok(body.images[0].path?.startsWith(`${dir.path}/images/`));
  assert.equal(fake.lastRequest?.path, "/v1/images/edits");
  assert.equal(fake.lastRequest?.fields?.prompt, "make it blue");
  const sent = fake.lastRequest?.fields?.["image[]"] ?? fake.lastRequest?.fields?.image;
  const files = [sent].flat() as { size: number }[];
  assert.equal(files.length, 1);
  assert.equal(files[0].size, (await Deno.stat(`${dir.path}/in/teapot.png`)).size);
  // A stored image can be edited by id as well.
  const again = await runCli(["edit", body.images[0].id, "-p", "now green"], {
    dataDir: dir.path,
    env,
  });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(lines(again.stdout).length, 1);
});

Deno.test("edit without --prompt, or with a missing file, is refused", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl };
  const noPrompt = await runCli(["edit", "x.png"], { dataDir: dir.path, env });
  assert.equal(noPrompt.code, 2);
  assert.match(noPrompt.stderr, /Missing --prompt/);
  const missing = await runCli(["edit", "nowhere/x.png", "--prompt", "p"], {
    dataDir: dir.path,
    env,
  });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /^error: .*x\.png/m);
  assert.equal(fake.requests.length, 0, "nothing reached the upstream");
});

Deno.test("the progress line is drawn on stderr when it is a terminal, never on stdout", async () => {
  await using fake = await startFakeOpenAI({ streamIntervalMs: 100 });
  await using dir = await tempDataDir();
  const which = await new Deno.Command("sh", { args: ["-c", "command -v script"] }).output();
  assert.ok(which.success, "`script` (util-linux) is needed to run the CLI in a pseudo-terminal");
  const stdoutFile = `${dir.path}/stdout.txt`;
  const command = cliCommand(["generate", "a slow fox", "--partial-images", "2"]).map(shellWord)
    .join(" ");
  const output = await new Deno.Command("script", {
    args: ["-qec", `${command} > ${shellWord(stdoutFile)}`, "/dev/null"],
    cwd: dir.path,
    clearEnv: true,
    env: cliEnv(dir.path, { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl, TERM: "xterm" }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const terminal = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, terminal + new TextDecoder().decode(output.stderr));
  // What the terminal showed: the status redrawn in place with stage, time and partial images.
  assert.ok(terminal.includes("\r\x1b[2K"), "the line is erased and redrawn in place");
  assert.match(terminal, /1 image · generating · \d+\.\d s · partial images 0\/2/);
  assert.match(terminal, /partial images 2\/2/);
  assert.match(terminal, /1 image with gpt-image-2 in \d+\.\d s/);
  // What went to stdout: the path alone.
  const stdout = await Deno.readTextFile(stdoutFile);
  assert.match(stdout, new RegExp(`^${dir.path}/images/[0-9a-f-]+\\.png\\n$`));
  assert.equal(fake.lastRequest?.fields?.partial_images, 2);
});

Deno.test("Ctrl+C cancels a running generation: the upstream call is closed and the exit code is 130", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const [program, ...args] = cliCommand(["generate", "a slow one [fault:hang]"]);
  const child = new Deno.Command(program, {
    args,
    cwd: dir.path,
    clearEnv: true,
    env: cliEnv(dir.path, { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  try {
    await eventually(() => fake.stats.inFlight === 1, "the upstream call", 20_000);
    child.kill("SIGINT");
    const result = await output;
    assert.equal(result.code, errorKindInfo("cancelled").exitCode);
    assert.match(new TextDecoder().decode(result.stderr), /^error: .*cancelled/m);
    assert.equal(new TextDecoder().decode(result.stdout), "");
    await eventually(() => fake.stats.connectionsClosedByClient === 1, "the closed call", 10_000);
    const stats = stdoutJson<{ stats: { count: number } }>(
      await runCli(["images", "stats", "--json"], { dataDir: dir.path }),
    );
    assert.equal(stats.stats.count, 0, "nothing was stored");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await output.catch(() => {});
  }
});
