/**
 * A fake OpenAI Images API on loopback for tests and local runs: `GET /v1/models`,
 * `POST /v1/images/generations` and `/v1/images/edits` (JSON and server-sent events), the Azure
 * deployment routes, OpenAI-like validation, real PNG/JPEG/WebP bytes, deterministic fault
 * injection and introspection.
 *
 * Faults: put `[fault:NAME]` in a prompt, send the `x-fake-openai-fault: NAME` header, call
 * `setFault("NAME")` or `POST /_control/fault {"fault":"NAME","count":1}`. Names: `rate_limit`,
 * `rate_limit_once`, `quota`, `moderation[=cat,…]`, `unauthorized`, `org_verification`,
 * `billing`, `server_error`, `overloaded`, `malformed_json`, `reset`, `hang`, `stream_error`,
 * `stream_cut`, `latency=MS`, `slow=MS` (a stream's events spread over MS) — and faults that answer 200 with a broken body: `extra_images[=K]`,
 * `huge_image[=MB]`, `absurd_usage`, `undecodable_image`. Control routes: `POST /_control/fault`, `GET /_control/stats`,
 * `GET /_control/requests`, `POST /_control/reset`.
 *
 * Run standalone with `deno task fake-openai`: it listens on `http://127.0.0.1:8787/v1`, the
 * address the README's quick start uses (env `FAKE_OPENAI_PORT`, 0 for any free port, and
 * `FAKE_OPENAI_HOST`).
 *
 * @module
 */

import {
  type FakeOpenAI,
  type FakeOpenAIOptions,
  startFakeOpenAIServer,
} from "./fake_openai/server.ts";

export {
  FAKE_INVALID_API_KEY,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  type FakeOpenAIStats,
  FAULT_HEADER,
  type FaultSetting,
  type RecordedFile,
  type RecordedRequest,
  type RequestOutcome,
} from "./fake_openai/server.ts";
export {
  ABSURD_USAGE,
  ANSWER_FAULT_NAMES,
  FAULT_NAMES,
  type FaultName,
  UNDECODABLE_BYTES,
} from "./fake_openai/faults.ts";
export { type ProbedImage, probeImage } from "./fake_openai/image_probe.ts";
export { FAKE_IMAGE_MODELS, RETIRED_MODELS } from "./fake_openai/models.ts";

/** Starts a fake OpenAI Images API on loopback; close it (or `await using`) when done. */
export function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  return startFakeOpenAIServer(options);
}

/** Port of `deno task fake-openai` when `FAKE_OPENAI_PORT` is unset (the README's address). */
export const FAKE_OPENAI_DEFAULT_PORT = 8787;

/** Starts the fake for `deno task fake-openai`; an exit code when it cannot start. */
async function main(): Promise<number | undefined> {
  const port = Number(Deno.env.get("FAKE_OPENAI_PORT") || FAKE_OPENAI_DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot start fake OpenAI: FAKE_OPENAI_PORT must be a port, got ${port}`);
  }
  const hostname = Deno.env.get("FAKE_OPENAI_HOST") || "127.0.0.1";
  let fake: FakeOpenAI;
  try {
    fake = await startFakeOpenAI({ port, hostname });
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    console.error(
      `Cannot start fake OpenAI: port ${port} is already in use; stop the other process or ` +
        "choose another port with FAKE_OPENAI_PORT (0 picks a free one)",
    );
    return 3;
  }
  // This is a developer tool: its stdout is the interface. The first line is the base URL alone.
  console.log(fake.baseUrl);
  console.log(
    [
      "",
      "Fake OpenAI Images API is running. Point the service at it with:",
      `  OPENAI_BASE_URL=${fake.baseUrl} OPENAI_API_KEY=anything deno task serve`,
      `Azure: AZURE_OPENAI_ENDPOINT=${fake.azureEndpoint} AZURE_OPENAI_API_KEY=anything`,
      "  OPENAI_API_VERSION=2025-04-01-preview AZURE_OPENAI_DEPLOYMENT=gpt-image-2",
      "Faults: add [fault:rate_limit] (or moderation, hang, reset, latency=1500, …) to a prompt,",
      `  or POST ${fake.azureEndpoint}/_control/fault {"fault":"server_error","count":1}.`,
      `Stats: GET ${fake.azureEndpoint}/_control/stats. Stop with Ctrl+C.`,
    ].join("\n"),
  );
  const stop = () => {
    fake.close().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return undefined;
}

if (import.meta.main) {
  const code = await main();
  if (code !== undefined) Deno.exit(code);
}
